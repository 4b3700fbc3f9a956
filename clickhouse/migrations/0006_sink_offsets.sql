-- 0006 sink_offsets: the highest Kafka offset stored, per raw table, topic and partition.
-- Why: the sink commits Kafka offsets only after an insert; if it stops between the insert
-- and the commit, the messages come again. Each raw table's view records, in the same atomic
-- insert as the rows, the highest offset stored, and the sink skips messages at or below it.
-- The table is part of the key because one topic (emc.pageviews) feeds two tables (pageviews
-- and bot_hits) with two separate inserts.
CREATE TABLE IF NOT EXISTS {database}.sink_offsets
(
    raw_table LowCardinality(String),
    topic LowCardinality(String),
    partition UInt16,
    max_offset SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (raw_table, topic, partition)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sink_offsets_pageviews_mv
TO {database}.sink_offsets AS
SELECT 'pageviews' AS raw_table, _topic AS topic, _partition AS partition, max(_offset) AS max_offset
FROM {database}.pageviews
GROUP BY topic, partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sink_offsets_bot_hits_mv
TO {database}.sink_offsets AS
SELECT 'bot_hits' AS raw_table, _topic AS topic, _partition AS partition, max(_offset) AS max_offset
FROM {database}.bot_hits
GROUP BY topic, partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sink_offsets_sessions_mv
TO {database}.sink_offsets AS
SELECT 'sessions' AS raw_table, _topic AS topic, _partition AS partition, max(_offset) AS max_offset
FROM {database}.sessions
GROUP BY topic, partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sink_offsets_dossier_events_mv
TO {database}.sink_offsets AS
SELECT 'dossier_events' AS raw_table, _topic AS topic, _partition AS partition,
    max(_offset) AS max_offset
FROM {database}.dossier_events
GROUP BY topic, partition;
