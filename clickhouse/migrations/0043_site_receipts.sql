-- 0043 site_receipts_hourly: per site and UTC hour of receipt, how many events arrived and the
-- last receipt time. Why: connection monitoring (and its Prometheus gauge, polled every few
-- seconds) must not scan 30 days of raw hits; this rollup holds at most 24 rows per site and
-- day. Receipt time, not event time: a backfill of old hits arriving now proves the connection
-- works now. Fed by the pageviews, bot_hits (bots prove a connection too) and dossier_events
-- inserts; existing rows are copied in once below. Presence of an hour and the last time are
-- what matter, so a repeated copy (a migration run twice) changes no answer.
CREATE TABLE IF NOT EXISTS {database}.site_receipts_hourly
(
    site LowCardinality(String),
    hour DateTime('UTC'),
    events SimpleAggregateFunction(sum, UInt64),
    last_received SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.site_receipts_pageviews_mv
TO {database}.site_receipts_hourly AS
SELECT
    site,
    toDateTime(toStartOfHour(received_ts), 'UTC') AS hour,
    toUInt64(count()) AS events,
    max(received_ts) AS last_received
FROM {database}.pageviews
GROUP BY site, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.site_receipts_bots_mv
TO {database}.site_receipts_hourly AS
SELECT
    site,
    toDateTime(toStartOfHour(received_ts), 'UTC') AS hour,
    toUInt64(count()) AS events,
    max(received_ts) AS last_received
FROM {database}.bot_hits
GROUP BY site, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.site_receipts_dossiers_mv
TO {database}.site_receipts_hourly AS
SELECT
    site,
    toDateTime(toStartOfHour(received_ts), 'UTC') AS hour,
    toUInt64(count()) AS events,
    max(received_ts) AS last_received
FROM {database}.dossier_events
GROUP BY site, hour;

INSERT INTO {database}.site_receipts_hourly
SELECT site, toDateTime(toStartOfHour(received_ts), 'UTC') AS hour, toUInt64(count()),
       max(received_ts)
FROM
(
    SELECT site, received_ts FROM {database}.pageviews
    UNION ALL
    SELECT site, received_ts FROM {database}.bot_hits
    UNION ALL
    SELECT site, received_ts FROM {database}.dossier_events
)
GROUP BY site, hour;
