-- 0002 sites: the site registry (schemas/sites.py Site).
-- Why: the collector accepts hits only for registered sites; the registry lives next to the
-- data. ReplacingMergeTree(updated_at) keeps the latest version of a site; read it with FINAL
-- and deleted = 0 (a delete is a newer row with deleted = 1).
CREATE TABLE IF NOT EXISTS {database}.sites
(
    id String,
    name String,
    type LowCardinality(String),
    domains Array(String),
    timezone LowCardinality(String) DEFAULT 'Asia/Ho_Chi_Minh',
    ingest_token String,
    updated_at DateTime64(3, 'UTC'),
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;
