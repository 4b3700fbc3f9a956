-- portal_realtime_minutes: pageviews per UTC minute over the last 30 minutes (the minute that
-- holds now and the 29 before it). Only minutes with pageviews come back; the API zero-fills.
-- Params: sites Array(String), now_ms Int64 (epoch milliseconds).
-- Reads: pageviews (raw: the rollups are hourly).
SELECT
    toStartOfMinute(ts) AS minute,
    count() AS pageviews
FROM pageviews
WHERE site IN {sites:Array(String)}
  AND toDate(local_ts) BETWEEN toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) - 1
                           AND toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) + 1
  AND type = 'pageview'
  AND ts >= toStartOfMinute(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) - INTERVAL 29 MINUTE
  AND ts <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')
GROUP BY minute
ORDER BY minute
