-- 0003 pageviews and bot_hits: the raw hit tables (schemas/hits.py EnrichedHit), the truth.
-- Why: every non-bot hit (pageview, event, engagement) lands in pageviews with its session id;
-- bots are kept apart in bot_hits so no metric can count them by accident. Times are epoch ms
-- on the wire and DateTime64(3, 'UTC') here; local_ts is the site's wall clock written as UTC
-- so local dates and hours need no per-row timezone. ReplacingMergeTree by event_id makes an
-- upstream duplicate harmless for FINAL queries. _topic/_partition/_offset say which Kafka
-- message a row came from (the sink's exactly-once bookkeeping reads them).
-- Deduplication window: the sink sends insert_deduplication_token on every insert.
CREATE TABLE IF NOT EXISTS {database}.pageviews
(
    event_id String,
    site LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    local_ts DateTime64(3, 'UTC'),
    received_ts DateTime64(3, 'UTC'),
    type LowCardinality(String),
    name String,
    url String,
    host LowCardinality(String),
    path String,
    referrer String,
    referrer_host LowCardinality(String),
    visitor_id String,
    session_id String,
    session_start DateTime64(3, 'UTC'),
    is_entry UInt8,
    country LowCardinality(String),
    region LowCardinality(String),
    city LowCardinality(String),
    device LowCardinality(String),
    browser LowCardinality(String),
    browser_version LowCardinality(String),
    os LowCardinality(String),
    os_version LowCardinality(String),
    is_bot UInt8,
    bot_reason LowCardinality(String),
    _topic LowCardinality(String),
    _partition UInt16,
    _offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(local_ts)
ORDER BY (site, toDate(local_ts), event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.bot_hits AS {database}.pageviews
ENGINE = MergeTree
PARTITION BY toYYYYMM(local_ts)
ORDER BY (site, toDate(local_ts), event_id)
SETTINGS non_replicated_deduplication_window = 1000;
