-- 0005 dossier_events: normalised dossier events (schemas/dossiers.py DossierEvent), the truth.
-- Why: one-stop indicators (received, online rate, processing time, on time) are computed
-- from these rows. The wire model uses 0 for an unknown time and -1 for an unknown
-- fee_paid_online; here unknown is NULL (Nullable columns) so that avg() and min() over
-- times and flags skip unknowns instead of counting 1970. ReplacingMergeTree by event_id makes
-- a resent event harmless for FINAL queries.
CREATE TABLE IF NOT EXISTS {database}.dossier_events
(
    event_id String,
    site LowCardinality(String),
    dossier_code String,
    procedure_code LowCardinality(String),
    procedure_name String,
    status LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    local_ts DateTime64(3, 'UTC'),
    received_ts DateTime64(3, 'UTC'),
    channel LowCardinality(String),
    source LowCardinality(String),
    submitted_by LowCardinality(String),
    agency String,
    admin_level LowCardinality(String),
    submitted_at Nullable(DateTime64(3, 'UTC')),
    received_at Nullable(DateTime64(3, 'UTC')),
    due_at Nullable(DateTime64(3, 'UTC')),
    resolved_at Nullable(DateTime64(3, 'UTC')),
    returned_at Nullable(DateTime64(3, 'UTC')),
    fee_paid_online Nullable(UInt8),
    _topic LowCardinality(String),
    _partition UInt16,
    _offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(local_ts)
ORDER BY (site, toDate(local_ts), event_id)
SETTINGS non_replicated_deduplication_window = 1000;
