-- portal_bounce_users: the bounce rate over users (I.4, seed 000 Phụ lục 2: "Tỷ lệ thoát là phần
-- trăm người dùng rời khỏi Cổng/ Trang thông tin điện tử sau khi chỉ truy cập vào một trang thành
-- phần"), for the whole period (interval 'all') or per local day / hour of the visits' start.
-- users = distinct visitors with a visit that started in the bucket (several sites: their union,
-- one visitor counted once); bounced_users = those of them every one of whose visits in the
-- bucket was a bounce (one pageview, no interactive event): a visitor who looked at more pages in
-- another visit did not "leave after one page".
-- Params: sites Array(String), from Date, to Date, interval String ('all' | 'day' | 'hour').
-- Optional: ends — per site (aligned with sites), where its visits stop (issue 16: a period that
--   contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC, on the hour.
--   Left out or empty: no cut, the whole period.
-- Reads: sessions (raw: a per-visitor condition over the period cannot be kept in a summing or
--   uniq rollup). sum(sign) and sum(sign * is_bounce) over a visitor's snapshot rows are their
--   visits and bounced visits now (a retracted snapshot cancels itself), exact at any time. The
--   primary key (site, local date) bounds the scan to the selected sites and days.
SELECT
    bucket,
    countIf(visits > 0) AS users,
    countIf(visits > 0 AND bounces = visits) AS bounced_users
FROM
(
    SELECT
        multiIf(
            {interval:String} = 'hour', toDateTime(toStartOfHour(start_local), 'UTC'),
            {interval:String} = 'day', toDateTime(toDate(start_local), 'UTC'),
            toDateTime({from:Date}, 'UTC')) AS bucket,
        visitor_id,
        sum(toInt64(sign)) AS visits,
        sum(sign * toInt64(is_bounce)) AS bounces
    FROM sessions
    WHERE site IN {sites:Array(String)}
      AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
      AND (empty({ends:Array(Int64)}) OR toStartOfHour(start_local) < toDateTime64(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3,
          'UTC'))
    GROUP BY bucket, visitor_id
)
GROUP BY bucket
ORDER BY bucket
