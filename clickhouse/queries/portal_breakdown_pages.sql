-- portal_breakdown_pages: the most viewed pages (URL paths without the query string) by each
-- pageview's own local date: pageviews, visits that viewed the page, unique visitors.
-- total_pageviews is the sum over every page (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, keys Array(String) (empty = all),
--   limit UInt32.
-- Reads: page_visitors_daily (rollup of pageviews, 0011): pageviews are summed; visits and
-- visitors are uniqCombined64(19) states merged over the days and sites of the selection (one
-- distinct count over their union): exact up to 16,384, a HyperLogLog estimate above.
-- Merging states costs about one step per stored id, so the pages are ranked by pageviews
-- first (`top`, a cheap column) and states are merged only for the pages returned; the
-- table's order (site, path, date) lets the primary key read just those pages.
WITH top AS
(
    SELECT path
    FROM page_visitors_daily
    WHERE site IN {sites:Array(String)}
      AND date BETWEEN {from:Date} AND {to:Date}
      AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, path))
    GROUP BY path
    ORDER BY sum(pageviews) DESC, path
    LIMIT {limit:UInt32}
)
SELECT
    p.key AS key,
    p.pageviews AS pageviews,
    p.visits AS visits,
    p.unique_visitors AS unique_visitors,
    t.total_pageviews AS total_pageviews
FROM
(
    SELECT
        path AS key,
        sum(pageviews) AS pageviews,
        uniqCombined64Merge(19)(visits) AS visits,
        uniqCombined64Merge(19)(visitors) AS unique_visitors
    FROM page_visitors_daily
    WHERE site IN {sites:Array(String)}
      AND date BETWEEN {from:Date} AND {to:Date}
      AND path IN (SELECT path FROM top)
    GROUP BY key
) AS p
CROSS JOIN
(
    SELECT sum(pageviews) AS total_pageviews
    FROM page_visitors_daily
    WHERE site IN {sites:Array(String)}
      AND date BETWEEN {from:Date} AND {to:Date}
      AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, path))
) AS t
ORDER BY pageviews DESC, key
LIMIT {limit:UInt32}
