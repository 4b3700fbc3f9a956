-- portal_breakdown_pages: the most viewed pages (URL paths without the query string) by each
-- pageview's own local date: pageviews, visits that viewed the page, unique visitors.
-- total_pageviews is the sum over every page (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, keys Array(String) (empty = all),
--   limit UInt32.
-- Reads: page_visitors_daily (rollup of pageviews, 0011): pageviews are summed; visits and
-- visitors are uniqCombined64(19) states merged over the days and sites of the selection (one
-- distinct count over their union): exact up to 16,384, a HyperLogLog estimate above.
SELECT
    path AS key,
    sum(pageviews) AS pageviews,
    uniqCombined64Merge(19)(visits) AS visits,
    uniqCombined64Merge(19)(visitors) AS unique_visitors,
    sum(pageviews) OVER () AS total_pageviews
FROM page_visitors_daily
WHERE site IN {sites:Array(String)}
  AND date BETWEEN {from:Date} AND {to:Date}
  AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, path))
GROUP BY key
ORDER BY pageviews DESC, key
LIMIT {limit:UInt32}
