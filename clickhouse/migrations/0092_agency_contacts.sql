-- 0092 agency_contacts, silence_alerts: who hears about a lost connection (issue 18 item 6).
-- Why: a broken connection is chased by letter and e-mail (seed 000, "V/v đôn đốc kết nối");
-- each agency keeps the addresses to write to. Like the site registry,
-- ReplacingMergeTree(updated_at), read with FINAL and deleted = 0.
CREATE TABLE IF NOT EXISTS {database}.agency_contacts
(
    agency_id String,
    id String,
    name String,
    email String,
    title String,
    silence_alerts UInt8 DEFAULT 1,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (agency_id, id)
SETTINGS non_replicated_deduplication_window = 1000;

-- silence_alerts: one row per silence episode that was alerted. An episode is a site and the
-- time of its last event before the silence (a site that comes back and falls silent again
-- has a new last event, hence a new episode), so each poll finds the episode already alerted.
CREATE TABLE IF NOT EXISTS {database}.silence_alerts
(
    site String,
    last_event DateTime64(3, 'UTC'),
    agency_id String,
    delivery_id String,
    recipients Array(String),
    detected_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (site, last_event)
SETTINGS non_replicated_deduplication_window = 1000;
