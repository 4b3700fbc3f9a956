-- rankings_site_totals: visits (by the local date of each visit's first hit) and pageviews (by
-- each hit's own local time) per site in a period. The rankings endpoint sums them per agency
-- subtree: both are counts over disjoint sites, so the sums are exact (no ratio is summed).
-- Params: sites Array(String), from Date, to Date.
-- Reads: visits_hourly and hits_hourly (rollups; a year of every site stays small).
SELECT key, sum(v) AS visits, sum(p) AS pageviews
FROM
(
    SELECT toString(site) AS key, toInt64(sum(visits)) AS v, toInt64(0) AS p
    FROM visits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
    GROUP BY key
    UNION ALL
    SELECT toString(site) AS key, toInt64(0) AS v, toInt64(sum(pageviews)) AS p
    FROM hits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
    GROUP BY key
)
GROUP BY key
ORDER BY key
