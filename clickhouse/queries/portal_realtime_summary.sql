-- portal_realtime_summary: who is on the sites now. Visitors with a hit (any type: pageview,
-- event, engagement ping) in the 5 and 30 minutes up to now, pageviews in the last 30 minutes,
-- and visits that started in the last 30 minutes. Windows are (now - N min, now] in UTC.
-- Params: sites Array(String), now_ms Int64 (epoch milliseconds).
-- Reads: pageviews and sessions (raw: rollups are hourly). The local-date conditions (one day
-- either side of now covers every timezone) let the primary keys skip everything older.
SELECT
    p.visitors_5m AS visitors_5m,
    p.visitors_30m AS visitors_30m,
    p.pageviews_30m AS pageviews_30m,
    s.visits_30m AS visits_30m
FROM
(
    SELECT
        uniqExactIf(visitor_id, ts > fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') - INTERVAL 5 MINUTE)
            AS visitors_5m,
        uniqExact(visitor_id) AS visitors_30m,
        countIf(type = 'pageview') AS pageviews_30m
    FROM pageviews
    WHERE site IN {sites:Array(String)}
      AND toDate(local_ts) BETWEEN toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) - 1
                               AND toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) + 1
      AND ts > fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') - INTERVAL 30 MINUTE
      AND ts <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')
) AS p
CROSS JOIN
(
    SELECT sum(sign) AS visits_30m
    FROM sessions
    WHERE site IN {sites:Array(String)}
      AND toDate(start_local) BETWEEN toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) - 1
                                  AND toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) + 1
      AND start_ts > fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') - INTERVAL 30 MINUTE
      AND start_ts <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')
) AS s
