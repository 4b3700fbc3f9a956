-- 0093 reconciliation_totals: an agency's own dossier totals per site, procedure and month
-- (đối soát, issue 18 item 6), uploaded as a workbook (POST /api/v1/reconciliation) and
-- compared with what the warehouse received (indicators/reconciliation.py), so that a month
-- whose numbers differ can be drilled down to the day the events went missing.
-- Why this shape: the latest upload of a (site, procedure, month) is the agency's word:
-- ReplacingMergeTree(uploaded_at) keyed by those three (read with FINAL). agency is who
-- uploaded (the agency of the request, the site's agency or an ancestor); upload_id groups the
-- rows of one file. month is the first day of the month (local dates of the site).
CREATE TABLE IF NOT EXISTS {database}.reconciliation_totals
(
    site LowCardinality(String),
    procedure_code String,
    month Date,
    received UInt32,
    resolved UInt32,
    agency LowCardinality(String),
    upload_id String,
    file_name String,
    row UInt32,
    uploaded_by String,
    uploaded_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(uploaded_at)
ORDER BY (site, procedure_code, month)
SETTINGS non_replicated_deduplication_window = 1000;
