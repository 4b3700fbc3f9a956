-- portal_breakdown_sites: the selected sites ranked by visits (by the local date of each
-- visit's start). total_visits is the sum over every site (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, keys Array(String) (empty = all),
--   limit UInt32.
-- Optional: ends — per site (aligned with sites), where its numbers stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC (the rollups'
--   hour column is the site's local hour written as UTC), on the hour. Left out or empty: no
--   cut, the whole period (the API passes it for periods that contain now).
-- Reads: visits_hourly (rollup of sessions; a year of 500 sites is ~4.4 M rollup rows at most).
SELECT
    toString(site) AS key,
    sum(visits) AS visits,
    sum(pageviews) AS visit_pageviews,
    sum(duration_ms) AS duration_ms,
    sum(bounces) AS bounces,
    sum(visits) OVER () AS total_visits
FROM visits_hourly
WHERE site IN {sites:Array(String)}
  AND hour >= toDateTime({from:Date}, 'UTC')
  AND hour < toDateTime({to:Date} + 1, 'UTC')
  AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
      arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
  AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, toString(site)))
GROUP BY key
HAVING visits != 0
ORDER BY visits DESC, key
LIMIT {limit:UInt32}
