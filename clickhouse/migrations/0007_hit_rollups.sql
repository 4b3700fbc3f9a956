-- 0007 hits_hourly and pages_daily: rollups of the pageviews table by each hit's local time.
-- Why: pageviews, hits and unique visitors per local hour, and pageviews and visitors per page
-- and local date, answer dashboards in milliseconds. Bots never reach pageviews, so they are
-- not counted. Visitors are uniq states: merge with uniqMerge(visitors). These are
-- accelerators: they can be rebuilt from pageviews for any date range.
CREATE TABLE IF NOT EXISTS {database}.hits_hourly
(
    site LowCardinality(String),
    hour DateTime('UTC'),
    pageviews SimpleAggregateFunction(sum, UInt64),
    hits SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.hits_hourly_mv
TO {database}.hits_hourly AS
SELECT
    site,
    toDateTime(toStartOfHour(local_ts), 'UTC') AS hour,
    toUInt64(countIf(type = 'pageview')) AS pageviews,
    toUInt64(count()) AS hits,
    uniqState(visitor_id) AS visitors
FROM {database}.pageviews
GROUP BY site, hour;

CREATE TABLE IF NOT EXISTS {database}.pages_daily
(
    site LowCardinality(String),
    date Date,
    path String,
    pageviews SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, path)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pages_daily_mv
TO {database}.pages_daily AS
SELECT
    site,
    toDate(local_ts) AS date,
    path,
    toUInt64(count()) AS pageviews,
    uniqState(visitor_id) AS visitors
FROM {database}.pageviews
WHERE type = 'pageview'
GROUP BY site, date, path;
