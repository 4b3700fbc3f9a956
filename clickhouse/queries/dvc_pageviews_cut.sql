-- dvc_pageviews_cut: dvc_pageviews cut per site at a local hour (issue 16: a period that contains now is
-- compared with the same elapsed part of the comparison period). The API calls this one;
-- dvc_pageviews stays as it was for analysts. Extra param: ends Array(Int64), aligned with sites:
-- per site, the exclusive end as the epoch seconds of a local wall-clock time read as UTC
-- (the rollups' hour column is the site's local hour written as UTC), on the hour.
-- What follows is the header of the query it copies.
-- dvc_pageviews: pageviews of the DVC portal(s) over inclusive local dates (EMC II.1).
-- Params: sites Array(String), from Date, to Date.
-- Reads: hits_hourly (rollup of pageviews by each hit's local hour).
SELECT sum(pageviews) AS pageviews
FROM hits_hourly
WHERE site IN {sites:Array(String)}
  AND hour >= toDateTime({from:Date}, 'UTC')
  AND hour < toDateTime({to:Date} + 1, 'UTC')
  AND hour < toDateTime(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC')
