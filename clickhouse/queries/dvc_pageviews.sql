-- dvc_pageviews: pageviews of the DVC portal(s) over inclusive local dates (EMC II.1).
-- Params: sites Array(String), from Date, to Date.
-- Reads: hits_hourly (rollup of pageviews by each hit's local hour).
SELECT sum(pageviews) AS pageviews
FROM hits_hourly
WHERE site IN {sites:Array(String)}
  AND hour >= toDateTime({from:Date}, 'UTC')
  AND hour < toDateTime({to:Date} + 1, 'UTC')
