-- portal_breakdown_visits: visits by city, entry page, exit page or referrer host of the visit
-- ('' = no referrer, a direct visit), by the local date of the visit's start. Rows sorted by
-- visits; total_visits is the sum over every key (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, dim String
--   (city|entry_page|exit_page|referrer), keys Array(String) (empty = all), limit UInt32.
-- Reads: visits_by_dim_daily (rollup of sessions; these four dims come from the 0012 view):
-- signed sums of the session snapshots, so a visit whose exit page changed while it ran
-- counts on its latest exit page only, exact at any time.
SELECT
    key,
    sum(visits) AS visits,
    sum(pageviews) AS visit_pageviews,
    sum(duration_ms) AS duration_ms,
    sum(bounces) AS bounces,
    sum(visits) OVER () AS total_visits
FROM visits_by_dim_daily
WHERE site IN {sites:Array(String)}
  AND date BETWEEN {from:Date} AND {to:Date}
  AND dim = {dim:String}
  AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, key))
GROUP BY key
HAVING visits != 0
ORDER BY visits DESC, key
LIMIT {limit:UInt32}
