-- 0040 agencies: the administrative tree that sites belong to (schemas/agencies.py Agency).
-- Why: numbers roll up ministry/province -> departments -> communes, and access tokens are
-- scoped to a subtree. Same versioning as sites: ReplacingMergeTree(updated_at), read with
-- FINAL and deleted = 0. merged_into / ended_on record a merger (the agency stays readable).
-- Every table carries the deduplication window like all tables here; each write has its own
-- version (updated_at / recorded_at), so only a retried identical insert is dropped.
CREATE TABLE IF NOT EXISTS {database}.agencies
(
    id String,
    name String,
    kind LowCardinality(String),
    code String DEFAULT '',
    parent_id String DEFAULT '',
    merged_into String DEFAULT '',
    ended_on Nullable(Date),
    updated_at DateTime64(3, 'UTC'),
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

-- Name changes, mergers, moves and creations with their effective dates, append-only.
CREATE TABLE IF NOT EXISTS {database}.agency_history
(
    agency_id String,
    change LowCardinality(String),
    effective Date,
    old_value String DEFAULT '',
    new_value String DEFAULT '',
    note String DEFAULT '',
    recorded_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (agency_id, effective, recorded_at)
SETTINGS non_replicated_deduplication_window = 1000;
