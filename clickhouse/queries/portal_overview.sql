-- portal_overview: the headline numbers of one or several sites over inclusive local dates.
-- Params: sites Array(String), from Date, to Date.
-- Reads:
--   visits_hourly (rollup of sessions, by the local hour of each visit's first hit): visits,
--     pageviews of those visits, total duration and bounces — visit numbers belong to the
--     visit's start, so a visit straddling midnight or the period's end counts where it starts;
--   hits_hourly (rollup of pageviews, by each hit's local hour): pageviews;
--   visitors_monthly (0013) and visitors_hourly (0010), rollups of pageviews: unique visitors
--     with a hit (any type) in the period = uniqCombined64Merge(19) of the states of the local
--     months lying wholly inside the period (monthly table) and of every other hour of the
--     period (hourly table: the partial months at its edges, or all of a period shorter than
--     a month); one distinct count over every selected site, month and hour (several sites =
--     their union, never a sum). Exact up to 16,384 distinct visitors, a HyperLogLog estimate
--     above (about 0.14 % standard error; the issue allows 1 % above 10,000).
SELECT
    v.visits AS visits,
    v.visit_pageviews AS visit_pageviews,
    v.duration_ms AS duration_ms,
    v.bounces AS bounces,
    h.pageviews AS pageviews,
    u.unique_visitors AS unique_visitors
FROM
(
    SELECT
        sum(visits) AS visits,
        sum(pageviews) AS visit_pageviews,
        sum(duration_ms) AS duration_ms,
        sum(bounces) AS bounces
    FROM visits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
) AS v
CROSS JOIN
(
    SELECT sum(pageviews) AS pageviews
    FROM hits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
) AS h
CROSS JOIN
(
    -- whole months: from the first month starting on or after `from` to the last month
    -- ending on or before `to` (none when the period lies within one month or two partial ones)
    WITH
        if(toStartOfMonth({from:Date}) = {from:Date}, {from:Date},
           toStartOfMonth({from:Date}) + INTERVAL 1 MONTH) AS months_from,
        toStartOfMonth({to:Date} + 1) AS months_to
    SELECT uniqCombined64Merge(19)(visitors) AS unique_visitors
    FROM
    (
        SELECT visitors
        FROM visitors_monthly
        WHERE site IN {sites:Array(String)}
          AND month >= months_from
          AND month < months_to
        UNION ALL
        SELECT visitors
        FROM visitors_hourly
        WHERE site IN {sites:Array(String)}
          AND hour >= toDateTime({from:Date}, 'UTC')
          AND hour < toDateTime({to:Date} + 1, 'UTC')
          AND NOT (hour >= toDateTime(months_from, 'UTC') AND hour < toDateTime(months_to, 'UTC'))
    )
) AS u
