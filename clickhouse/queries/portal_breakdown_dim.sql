-- portal_breakdown_dim: visits by country, device, browser or os of the visit (its first hit),
-- by the local date of the visit's start. Rows sorted by visits; total_visits is the sum over
-- every key (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, dim String (country|device|browser|os),
--   keys Array(String) (only these keys; empty = all), limit UInt32.
-- Reads: visits_by_dim_daily (rollup of sessions with signed sums; exact at any time).
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
