-- 0001 schema_migrations: the migration runner's own state table.
-- Why: the runner records every applied migration (version, name, checksum) in ClickHouse
-- itself, so the state travels with the data and a changed, already applied file is refused.
CREATE TABLE IF NOT EXISTS {database}.schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY version;
