-- 0091 report_schedules, mail_outbox, mail_claims: e-mailed reports (issue 18 item 5).
-- Why here: a schedule is registry data (who gets which forms of which agency or site, every
-- week, month or quarter), and every e-mail the warehouse owes is a row of the outbox before
-- it is sent, so nothing is lost and retries survive restarts (api/mailer.py,
-- clickhouse/mail_store.py).
-- report_schedules: like the site registry, ReplacingMergeTree(updated_at) keeps the latest
-- version; read with FINAL and deleted = 0. Exactly one of agency_id / site is set.
CREATE TABLE IF NOT EXISTS {database}.report_schedules
(
    id String,
    agency_id String,
    site String,
    period LowCardinality(String),
    recipients Array(String),
    forms Array(String),
    timezone String,
    created_by String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

-- mail_outbox: one row per e-mail owed, its id deterministic (report:<schedule>:<first day of
-- the period>, silence:<site>:<last event>), so a second poller or a restart finds the same
-- row instead of adding one. Each change of state is a newer row whose version =
-- attempts * 10 + rank(status) (pending 0, sending 1, retry 2, sent 8, failed 9) never goes
-- back: an old state written late (two pollers) cannot undo a newer one, whatever the order.
CREATE TABLE IF NOT EXISTS {database}.mail_outbox
(
    id String,
    kind LowCardinality(String),
    schedule_id String,
    agency_id String,
    site String,
    period_from Date,
    period_to Date,
    payload String,
    recipients Array(String),
    subject String,
    status LowCardinality(String),
    attempts UInt16,
    version UInt32,
    next_attempt_at DateTime64(3, 'UTC'),
    claimed_by String,
    lease_until DateTime64(3, 'UTC'),
    last_error String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    sent_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

-- mail_claims: who sends attempt n of an e-mail. Every poller that wants to send appends its
-- claim and reads the claims back; the earliest (claimed_at, claimant) wins and the others
-- leave that attempt alone (first writer wins, unlike the outbox's newest version).
CREATE TABLE IF NOT EXISTS {database}.mail_claims
(
    delivery_id String,
    attempt UInt16,
    claimant String,
    claimed_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (delivery_id, attempt)
SETTINGS non_replicated_deduplication_window = 1000;
