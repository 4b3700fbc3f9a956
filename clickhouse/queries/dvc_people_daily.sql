-- dvc_people_daily: II.8 of a DVC portal (seed 000, Phụ lục 2, II.8 "Biểu đồ lượt xem và lượt
-- truy cập theo khoảng thời gian": "Hiện thị biểu đồ dạng cột trình diễn tổng số người xem và
-- người truy cập theo từng ngày"), per local day: viewers = distinct visitors with a pageview
-- that day, visitors = distinct visitors with any hit that day (pageview, event, engagement).
-- Several sites: their union (one person counted once). Only days with hits come back; the API
-- zero-fills the others.
-- Params: sites Array(String), from Date, to Date.
-- Optional: ends — per site (aligned with sites), where its numbers stop (issue 16: a period
--   that contains now stops at now, rounded down to the hour): the exclusive end as the epoch
--   seconds of a local wall-clock time read as UTC. Left out or empty: the whole period.
-- Reads: pageviews (raw, non-bot hits of every type; a per-type distinct count is not kept in a
--   rollup), bounded by its primary key (site, local date). uniqCombined64(19), the function of
--   the visitors_hourly rollup, so visitors equal the portal timeseries' unique_visitors (exact up
--   to 16,384 a day, a HyperLogLog estimate above).
SELECT
    toDate(local_ts) AS day,
    uniqCombined64If(19)(visitor_id, type = 'pageview') AS viewers,
    uniqCombined64(19)(visitor_id) AS visitors
FROM pageviews
WHERE site IN {sites:Array(String)}
  AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
  AND (empty({ends:Array(Int64)}) OR local_ts < toDateTime64(
      arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3, 'UTC'))
GROUP BY day
ORDER BY day
