-- portal_realtime_pages: the pages viewed most in the last 30 minutes ((now - 30 min, now]).
-- Params: sites Array(String), now_ms Int64 (epoch milliseconds), limit UInt32.
-- Reads: pageviews (raw: the rollups are hourly and daily).
SELECT
    path AS key,
    count() AS pageviews,
    uniqExact(visitor_id) AS visitors
FROM pageviews
WHERE site IN {sites:Array(String)}
  AND toDate(local_ts) BETWEEN toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) - 1
                           AND toDate(fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')) + 1
  AND type = 'pageview'
  AND ts > fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC') - INTERVAL 30 MINUTE
  AND ts <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')
GROUP BY key
ORDER BY pageviews DESC, key
LIMIT {limit:UInt32}
