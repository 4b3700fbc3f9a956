-- portal_timeseries: visits, pageviews, unique visitors, bounces and duration per local day
-- or hour (hourly = 1) of one or several sites. Only buckets with data come back; the API
-- zero-fills the others.
-- Params: sites Array(String), from Date, to Date, hourly UInt8.
-- Optional: ends — per site (aligned with sites), where its numbers stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC (the rollups'
--   hour column is the site's local hour written as UTC), on the hour. Left out or empty: no
--   cut, the whole period (the API passes it for periods that contain now).
-- Reads:
--   visits_hourly (rollup): visit numbers by the local hour/day of each visit's first hit;
--   hits_hourly (rollup): pageviews by each hit's local hour/day;
--   visitors_hourly (rollup, 0010): unique visitors per bucket = uniqCombined64Merge(19) of
--     the bucket's hourly states over the selected sites (exact up to 16,384, a HyperLogLog
--     estimate above).
SELECT
    bucket,
    v.visits AS visits,
    v.visit_pageviews AS visit_pageviews,
    v.duration_ms AS duration_ms,
    v.bounces AS bounces,
    h.pageviews AS pageviews,
    u.unique_visitors AS unique_visitors
FROM
(
    SELECT
        if({hourly:UInt8} = 1, hour, toStartOfDay(hour)) AS bucket,
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
    GROUP BY bucket
) AS v
FULL OUTER JOIN
(
    SELECT
        if({hourly:UInt8} = 1, hour, toStartOfDay(hour)) AS bucket,
        sum(pageviews) AS pageviews
    FROM hits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
      AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
    GROUP BY bucket
) AS h USING (bucket)
FULL OUTER JOIN
(
    SELECT
        if({hourly:UInt8} = 1, hour, toStartOfDay(hour)) AS bucket,
        uniqCombined64Merge(19)(visitors) AS unique_visitors
    FROM visitors_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
      AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
    GROUP BY bucket
) AS u USING (bucket)
ORDER BY bucket
