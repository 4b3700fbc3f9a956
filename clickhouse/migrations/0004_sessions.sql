-- 0004 sessions: visit snapshots (schemas/hits.py SessionRow) with sign.
-- Why: the sessionizer emits, for every hit, the visit's previous row (retracted, sign -1)
-- and its current row (sign +1). VersionedCollapsingMergeTree(sign, version) collapses the
-- pairs in the background; queries use sum(sign)-style aggregates, which are exact at any
-- time. Start, local start and end are DateTime64(3, 'UTC'); duration_ms = end - start.
CREATE TABLE IF NOT EXISTS {database}.sessions
(
    session_id String,
    site LowCardinality(String),
    visitor_id String,
    start_ts DateTime64(3, 'UTC'),
    start_local DateTime64(3, 'UTC'),
    end_ts DateTime64(3, 'UTC'),
    duration_ms UInt64,
    version UInt64,
    hits UInt32,
    pageviews UInt32,
    events UInt32,
    is_bounce UInt8,
    entry_page String,
    exit_page String,
    referrer_host LowCardinality(String),
    country LowCardinality(String),
    region LowCardinality(String),
    city LowCardinality(String),
    device LowCardinality(String),
    browser LowCardinality(String),
    os LowCardinality(String),
    sign Int8,
    _topic LowCardinality(String),
    _partition UInt16,
    _offset UInt64
)
ENGINE = VersionedCollapsingMergeTree(sign, version)
PARTITION BY toYYYYMM(start_local)
ORDER BY (site, toDate(start_local), session_id)
SETTINGS non_replicated_deduplication_window = 1000;
