-- portal_breakdown_hours: the 24-hour profile. Visits (and their pageviews, for pages per
-- visit) by the local hour of each visit's first hit; pageviews by the local hour of each hit.
-- Only hours with data come back; the API fills the 24 rows.
-- Params: sites Array(String), from Date, to Date.
-- Optional: ends — per site (aligned with sites), where its numbers stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC (the rollups'
--   hour column is the site's local hour written as UTC), on the hour. Left out or empty: no
--   cut, the whole period (the API passes it for periods that contain now).
-- Reads: visits_hourly and hits_hourly (rollups by local hour).
SELECT
    hour_of_day,
    v.visits AS visits,
    v.visit_pageviews AS visit_pageviews,
    v.duration_ms AS duration_ms,
    v.bounces AS bounces,
    h.pageviews AS pageviews
FROM
(
    SELECT
        toHour(hour) AS hour_of_day,
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
    GROUP BY hour_of_day
) AS v
FULL OUTER JOIN
(
    SELECT toHour(hour) AS hour_of_day, sum(pageviews) AS pageviews
    FROM hits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
      AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
    GROUP BY hour_of_day
) AS h USING (hour_of_day)
ORDER BY hour_of_day
