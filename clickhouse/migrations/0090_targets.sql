-- 0090 targets: the yearly targets (chỉ tiêu) a province or ministry assigns to its units
-- (issue 18 item 4; seed 002: thirty provinces set targets for the online dossier rate of each
-- agency in their area), managed by GET/PUT/DELETE /api/v1/targets and the XLSX import
-- (clickhouse/targets.py writes, indicators/targets.py computes progress and forecast).
-- Why this shape: one row per (agency, metric, year); a re-import or an edit writes a newer
-- row, and ReplacingMergeTree(updated_at) keeps the latest (read with FINAL and deleted = 0; a
-- delete is a newer row with deleted = 1). metric is a rankings metric name
-- (indicators/rankings.py METRICS), so a target's "actual" is the number the rankings show.
CREATE TABLE IF NOT EXISTS {database}.targets
(
    agency LowCardinality(String),
    metric LowCardinality(String),
    year UInt16,
    value Float64,
    updated_by String,
    updated_at DateTime64(3, 'UTC'),
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (agency, metric, year)
SETTINGS non_replicated_deduplication_window = 1000;
