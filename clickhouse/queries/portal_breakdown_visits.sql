-- portal_breakdown_visits: visits by city, entry page, exit page or referrer host of the visit
-- ('' = no referrer, a direct visit), by the local date of the visit's start. Rows sorted by
-- visits; total_visits is the sum over every key (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, dim String
--   (city|entry_page|exit_page|referrer), keys Array(String) (empty = all), limit UInt32.
-- Reads: sessions (raw, VersionedCollapsingMergeTree: sum(sign), sum(sign * x) are exact before
-- and after merges). No rollup holds these keys; entry and exit pages in particular are
-- properties of the whole visit and change while it runs. The primary key (site, local start
-- date) limits the scan to the selected sites and days.
SELECT
    multiIf(
        {dim:String} = 'city', toString(city),
        {dim:String} = 'entry_page', entry_page,
        {dim:String} = 'exit_page', exit_page,
        toString(referrer_host)
    ) AS key,
    sum(sign) AS visits,
    sum(sign * pageviews) AS visit_pageviews,
    sum(sign * duration_ms) AS duration_ms,
    sum(sign * is_bounce) AS bounces,
    sum(visits) OVER () AS total_visits
FROM sessions
WHERE site IN {sites:Array(String)}
  AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
GROUP BY key
HAVING visits != 0 AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, key))
ORDER BY visits DESC, key
LIMIT {limit:UInt32}
