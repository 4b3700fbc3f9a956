-- 0071 goals: per-site goals (issue 17 item 4), managed by POST/GET/DELETE
-- /api/v1/sites/{site}/goals (indicators/goals.py, clickhouse/goals.py).
-- Why here: a goal is a definition read by every conversion query, so it lives next to the
-- hits it matches. A goal is either a page pattern (page: '/thu-tuc/*', '*' = any text) or an
-- event name with an optional property (event, prop_key, prop_value). Like the site registry
-- (0002), ReplacingMergeTree(updated_at) keeps the latest version of a goal; read it with
-- FINAL and deleted = 0 (a delete is a newer row with deleted = 1). The deduplication window, as
-- on every table an insert reaches (a retried insert with the same token is dropped).
CREATE TABLE IF NOT EXISTS {database}.goals
(
    site LowCardinality(String),
    id String,
    name String,
    page String,
    event String,
    prop_key String,
    prop_value String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (site, id)
SETTINGS non_replicated_deduplication_window = 1000;
