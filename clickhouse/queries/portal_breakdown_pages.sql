-- portal_breakdown_pages: the most viewed pages (URL paths without the query string) by each
-- pageview's own local date: pageviews, visits that viewed the page, unique visitors.
-- total_pageviews is the sum over every page (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, keys Array(String) (empty = all),
--   limit UInt32.
-- Optional: ends — per site (aligned with sites), where its pageviews stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC, on the hour.
--   Left out or empty: no cut, the whole period (the API passes it for periods that contain
--   now). The rollup is daily, so a cut takes the days before the cut's day from it and the
--   pageviews of the cut's day before the cut from the raw pageviews (`cut_day`, grouped the
--   way the rollup's view groups them, with states of the same function, so the distinct
--   counts merge across both); only that one day per site is read raw.
-- Reads: page_visitors_daily (rollup of pageviews, 0011): pageviews are summed; visits and
-- visitors are uniqCombined64(19) states merged over the days and sites of the selection (one
-- distinct count over their union): exact up to 16,384, a HyperLogLog estimate above.
-- Merging states costs about one step per stored id, so the pages are ranked by pageviews
-- first (`top`, a cheap column) and states are merged only for the pages returned; the
-- table's order (site, path, date) lets the primary key read just those pages (`days` is
-- inlined where it is used: the engine reads only the columns each use needs and pushes the
-- `path IN top` filter into both of its parts). With ends, pageviews (raw) for each site's
-- cut day.
WITH cut_day AS
(
    SELECT
        path,
        toUInt64(count()) AS pageviews,
        uniqCombined64State(19)(session_id) AS visits,
        uniqCombined64State(19)(visitor_id) AS visitors
    FROM pageviews
    WHERE NOT empty({ends:Array(Int64)})
      AND site IN {sites:Array(String)}
      AND type = 'pageview'
      AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
      AND toDate(local_ts) = toDate(toDateTime(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
      AND local_ts < toDateTime(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC')
      AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, path))
    GROUP BY path
),
days AS
(
    SELECT path, pageviews, visits, visitors
    FROM page_visitors_daily
    WHERE site IN {sites:Array(String)}
      AND date BETWEEN {from:Date} AND {to:Date}
      AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, path))
      AND (empty({ends:Array(Int64)}) OR date < toDate(toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC')))
    UNION ALL
    SELECT path, pageviews, visits, visitors FROM cut_day
),
top AS
(
    SELECT path
    FROM days
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
    FROM days
    WHERE path IN (SELECT path FROM top)
    GROUP BY key
) AS p
CROSS JOIN
(
    SELECT sum(pageviews) AS total_pageviews FROM days
) AS t
ORDER BY pageviews DESC, key
LIMIT {limit:UInt32}
