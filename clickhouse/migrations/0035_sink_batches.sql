-- 0035 sink_batches: the last batch the sink sent to each raw table, per consumer group and
-- Kafka partition, written BEFORE the insert. Why: ClickHouse fills materialized views after
-- the source part is written, not atomically with it, so a warehouse killed inside an insert
-- can keep the raw rows and sink_offsets but miss rows in a rollup. On start the sink re-forms
-- each recorded batch from Kafka (same offsets, same rows) and inserts it again with the same
-- insert_deduplication_token and deduplicate_blocks_in_dependent_materialized_views = 1: the
-- raw table and every view whose block already landed drop it, the views that missed it get
-- it (ARCHITECTURE "Exactly-once into ClickHouse"). token = topic/partition/first-last offsets
-- of every partition in that insert, exactly the insert's deduplication token. One row per
-- (group, table, partition) survives merges; readers take argMax(token, written_at).
CREATE TABLE IF NOT EXISTS {database}.sink_batches
(
    consumer_group LowCardinality(String),
    raw_table LowCardinality(String),
    topic LowCardinality(String),
    partition UInt16,
    token String,
    written_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(written_at)
ORDER BY (consumer_group, raw_table, topic, partition)
SETTINGS non_replicated_deduplication_window = 1000;
