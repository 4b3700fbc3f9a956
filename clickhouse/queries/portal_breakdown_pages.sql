-- portal_breakdown_pages: the most viewed pages (URL paths without the query string) by each
-- pageview's own local date: pageviews, visits that viewed the page, unique visitors.
-- total_pageviews is the sum over every page (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, keys Array(String) (empty = all),
--   limit UInt32.
-- Reads: pageviews (raw). pages_daily would give pageviews alone, but visits per page and exact
-- visitors per page need the raw session and visitor ids; the primary key (site, local date)
-- limits the scan.
SELECT
    path AS key,
    count() AS pageviews,
    uniqExact(session_id) AS visits,
    uniqExact(visitor_id) AS unique_visitors,
    sum(pageviews) OVER () AS total_pageviews
FROM pageviews
WHERE site IN {sites:Array(String)}
  AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
  AND type = 'pageview'
  AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, path))
GROUP BY key
ORDER BY pageviews DESC, key
LIMIT {limit:UInt32}
