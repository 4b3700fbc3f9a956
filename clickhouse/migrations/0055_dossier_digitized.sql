-- 0055 dossier_events.digitized: whether the dossier's papers were digitised (issue 16, the
-- "số hóa hồ sơ" group of the provisional Decision 766/QĐ-TTg scorecard). NULL = the sender
-- did not say (older senders, and every event before this migration), so the scorecard counts
-- only dossiers whose flag was reported and never reads an unknown as "not digitised".
-- Why only the raw table: the scorecard takes max(digitized) per dossier straight from
-- dossier_events (idempotent, order-independent like the dossier_state aggregates), which
-- leaves dossier_state, its view and their rebuild untouched.
ALTER TABLE {database}.dossier_events
    ADD COLUMN IF NOT EXISTS digitized Nullable(UInt8) AFTER fee_paid_online;
