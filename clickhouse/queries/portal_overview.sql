-- portal_overview: the headline numbers of one or several sites over inclusive local dates.
-- Params: sites Array(String), from Date, to Date.
-- Optional: ends — per site (aligned with sites), where its numbers stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC (the rollups'
--   hour column is the site's local hour written as UTC), on the hour. Left out or empty: no
--   cut, the whole period (the API passes it for periods that contain now).
-- Reads:
--   visits_hourly (rollup of sessions, by the local hour of each visit's first hit): visits,
--     pageviews of those visits, total duration and bounces — visit numbers belong to the
--     visit's start, so a visit straddling midnight or the period's end counts where it starts;
--   hits_hourly (rollup of pageviews, by each hit's local hour): pageviews;
--   visitors_hourly (rollup of pageviews, 0010): unique visitors with a hit (any type) in the
--     period = uniqCombined64Merge(19) of the hourly states, one distinct count over every
--     selected site and hour (several sites = their union, never a sum). Exact up to 16,384
--     distinct visitors, a HyperLogLog estimate above (about 0.14 % standard error; the
--     issue allows 1 % above 10,000).
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
      AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
) AS v
CROSS JOIN
(
    SELECT sum(pageviews) AS pageviews
    FROM hits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
      AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
) AS h
CROSS JOIN
(
    SELECT uniqCombined64Merge(19)(visitors) AS unique_visitors
    FROM visitors_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
      AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
) AS u
