-- goals_conversions: per goal, the visits that converted (issue 17 item 4). A visit converts on
-- a goal when at least one of its hits matches it: a pageview whose path matches the goal's
-- page pattern, or an event with the goal's name (and, when given, its property's value).
-- Visit numbers belong to the local date of the visit's first hit, with all of its hits
-- (DESIGN §2), so a visit that starts at 23:50 and converts after midnight converts on the
-- day it started.
-- Per goal (one row for each, in the order given, 0 when nothing converted): converting_visits,
-- conversions (matching hits in the counted visits), converting_visitors; and total_visits,
-- the visits of the period (the conversion rate's denominator).
-- Params: sites Array(String), from Date, to Date, ends Array(Int64), goal_ids Array(String),
--   goal_regex Array(String) (a page goal's path pattern as an anchored RE2 regular
--   expression, '' for an event goal), goal_events Array(String) ('' for a page goal),
--   goal_prop_keys Array(String), goal_prop_values Array(String) ('' = no property condition),
--   all aligned with goal_ids.
-- ends Array(Int64), aligned with sites: the exclusive local end of each site (issue 16 cut) as
--   epoch seconds of the local wall-clock time read as UTC; far in the future when not cut.
-- Reads: sessions (raw: the visits started in the period, signed sums, exact at any time) and
--   pageviews (raw: their hits, up to a day after the period for visits that cross midnight).
--   Distinct counts are exact (uniqExact): conversions are few next to pageviews.
WITH
    visits AS
    (
        SELECT session_id
        FROM sessions
        WHERE site IN {sites:Array(String)}
          AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
          AND start_local < toDateTime64(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3, 'UTC')
        GROUP BY session_id
        HAVING sum(sign) > 0
    ),
    matched AS
    (
        SELECT
            arrayJoin(arrayFilter(
                i -> if({goal_events:Array(String)}[i] = '',
                        type = 'pageview' AND match(path, {goal_regex:Array(String)}[i]),
                        type = 'event' AND name = {goal_events:Array(String)}[i]
                            AND ({goal_prop_keys:Array(String)}[i] = ''
                                 OR props[{goal_prop_keys:Array(String)}[i]] = {goal_prop_values:Array(String)}[i])),
                arrayEnumerate({goal_ids:Array(String)}))) AS goal,
            session_id,
            visitor_id
        FROM pageviews
        WHERE site IN {sites:Array(String)}
          AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date} + 1
          AND type IN ('pageview', 'event')
          AND session_id IN (SELECT session_id FROM visits)
    )
SELECT
    g.goal AS goal,
    {goal_ids:Array(String)}[g.goal] AS goal_id,
    m.converting_visits AS converting_visits,
    m.conversions AS conversions,
    m.converting_visitors AS converting_visitors,
    (SELECT count() FROM visits) AS total_visits
FROM (SELECT arrayJoin(arrayEnumerate({goal_ids:Array(String)})) AS goal) AS g
LEFT JOIN
(
    SELECT
        goal,
        uniqExact(session_id) AS converting_visits,
        count() AS conversions,
        uniqExact(visitor_id) AS converting_visitors
    FROM matched
    GROUP BY goal
) AS m ON g.goal = m.goal
ORDER BY g.goal
