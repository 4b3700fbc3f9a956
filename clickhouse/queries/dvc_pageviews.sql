-- dvc_pageviews: pageviews of the DVC portal(s) over inclusive local dates (EMC II.1).
-- Params: sites Array(String), from Date, to Date.
-- Optional: ends — per site (aligned with sites), where its numbers stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC (the rollups'
--   hour column is the site's local hour written as UTC), on the hour. Left out or empty: no
--   cut, the whole period (the API passes it for periods that contain now).
-- Reads: hits_hourly (rollup of pageviews by each hit's local hour).
SELECT sum(pageviews) AS pageviews
FROM hits_hourly
WHERE site IN {sites:Array(String)}
  AND hour >= toDateTime({from:Date}, 'UTC')
  AND hour < toDateTime({to:Date} + 1, 'UTC')
  AND (empty({ends:Array(Int64)}) OR hour < toDateTime(
      arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
