-- 0020 dossier_state: the current state of every dossier (site, dossier_code), kept from the
-- raw dossier_events by a materialized view, and the view `dossiers` that reads it.
-- Why this shape: events arrive late, out of order and more than once (a resent event, a
-- Kafka replay, a retried insert). Every column below is an aggregate that is both
-- order-independent and idempotent, so the state is the same whatever the arrival order and
-- however often an event is stored again:
--   * status = argMax(status, (ts, rank, cityHash64(event_id))): the latest event, the later
--     lifecycle step (rank) for two events in the same millisecond, then a total order;
--   * texts (procedure, channel, source, ...) = max(): a reported value beats an empty one;
--     two different non-empty values (a sender's mistake) resolve the same way every time;
--   * times: the value reported in the events' own fields (min over reports), else the event
--     time of the first event with that status (min); the due time is the latest promised one
--     (max: an extension after a supplement request wins); flags = max()/groupBitOr().
-- Only status keeps an aggregate state; everything else is a SimpleAggregateFunction (a plain
-- value), so reading one row per dossier with FINAL is cheap even for millions of dossiers.
-- Nothing counts events, so no duplicate can inflate a number; that is also why the backfill
-- INSERT at the end may overlap with rows the view already saw. The status ranks and the
-- national (1-10) / EMC push (0-3) code tables live in schemas/dossier_status.py.
CREATE TABLE IF NOT EXISTS {database}.dossier_state
(
    site LowCardinality(String),
    dossier_code String,
    status AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt8, UInt64)),
    statuses_seen SimpleAggregateFunction(groupBitOr, UInt16),
    first_event_ts SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_event_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    procedure_code SimpleAggregateFunction(max, String),
    procedure_name SimpleAggregateFunction(max, String),
    channel SimpleAggregateFunction(max, String),
    source SimpleAggregateFunction(max, String),
    submitted_by SimpleAggregateFunction(max, String),
    agency SimpleAggregateFunction(max, String),
    admin_level SimpleAggregateFunction(max, String),
    submitted_reported SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    submitted_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    received_reported SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    received_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    resolved_reported SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    resolved_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    returned_reported SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    returned_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    due_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    fee_paid_online SimpleAggregateFunction(max, Nullable(UInt8))
)
ENGINE = AggregatingMergeTree
ORDER BY (site, dossier_code)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.dossier_state_mv TO {database}.dossier_state AS
SELECT
    site,
    dossier_code,
    argMaxState(e_status, (e_ts, e_rank, cityHash64(e_id))) AS status,
    groupBitOr(bitShiftLeft(toUInt16(1), e_rank)) AS statuses_seen,
    min(e_ts) AS first_event_ts,
    max(e_ts) AS last_event_ts,
    max(e_procedure_code) AS procedure_code,
    max(e_procedure_name) AS procedure_name,
    max(e_channel) AS channel,
    max(e_source) AS source,
    max(e_submitted_by) AS submitted_by,
    max(e_agency) AS agency,
    max(e_admin_level) AS admin_level,
    min(e_submitted_at) AS submitted_reported,
    min(if(e_status = 'submitted', toNullable(e_ts), NULL)) AS submitted_first,
    min(e_received_at) AS received_reported,
    min(if(e_status = 'received', toNullable(e_ts), NULL)) AS received_first,
    min(e_resolved_at) AS resolved_reported,
    min(if(e_status = 'resolved', toNullable(e_ts), NULL)) AS resolved_first,
    min(e_returned_at) AS returned_reported,
    min(if(e_status = 'returned', toNullable(e_ts), NULL)) AS returned_first,
    max(e_due_at) AS due_at,
    max(e_fee_paid_online) AS fee_paid_online
FROM
(
    -- e_ names: the aggregates' aliases below must not shadow the event columns
    SELECT
        site,
        dossier_code,
        event_id AS e_id,
        ts AS e_ts,
        toString(status) AS e_status,
        toUInt8(transform(toString(status),
            ['submitted', 'received', 'rejected', 'processing', 'supplement_requested',
             'payment_requested', 'withdrawn', 'stopped', 'resolved', 'returned'],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0)) AS e_rank,
        toString(procedure_code) AS e_procedure_code,
        procedure_name AS e_procedure_name,
        toString(channel) AS e_channel,
        toString(source) AS e_source,
        toString(submitted_by) AS e_submitted_by,
        agency AS e_agency,
        toString(admin_level) AS e_admin_level,
        submitted_at AS e_submitted_at,
        received_at AS e_received_at,
        due_at AS e_due_at,
        resolved_at AS e_resolved_at,
        returned_at AS e_returned_at,
        fee_paid_online AS e_fee_paid_online
    FROM {database}.dossier_events
)
GROUP BY site, dossier_code;

-- Backfill what was stored before this migration (harmless where the view already saw it).
INSERT INTO {database}.dossier_state
SELECT
    site,
    dossier_code,
    argMaxState(e_status, (e_ts, e_rank, cityHash64(e_id))) AS status,
    groupBitOr(bitShiftLeft(toUInt16(1), e_rank)) AS statuses_seen,
    min(e_ts) AS first_event_ts,
    max(e_ts) AS last_event_ts,
    max(e_procedure_code) AS procedure_code,
    max(e_procedure_name) AS procedure_name,
    max(e_channel) AS channel,
    max(e_source) AS source,
    max(e_submitted_by) AS submitted_by,
    max(e_agency) AS agency,
    max(e_admin_level) AS admin_level,
    min(e_submitted_at) AS submitted_reported,
    min(if(e_status = 'submitted', toNullable(e_ts), NULL)) AS submitted_first,
    min(e_received_at) AS received_reported,
    min(if(e_status = 'received', toNullable(e_ts), NULL)) AS received_first,
    min(e_resolved_at) AS resolved_reported,
    min(if(e_status = 'resolved', toNullable(e_ts), NULL)) AS resolved_first,
    min(e_returned_at) AS returned_reported,
    min(if(e_status = 'returned', toNullable(e_ts), NULL)) AS returned_first,
    max(e_due_at) AS due_at,
    max(e_fee_paid_online) AS fee_paid_online
FROM
(
    -- e_ names: the aggregates' aliases below must not shadow the event columns
    SELECT
        site,
        dossier_code,
        event_id AS e_id,
        ts AS e_ts,
        toString(status) AS e_status,
        toUInt8(transform(toString(status),
            ['submitted', 'received', 'rejected', 'processing', 'supplement_requested',
             'payment_requested', 'withdrawn', 'stopped', 'resolved', 'returned'],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0)) AS e_rank,
        toString(procedure_code) AS e_procedure_code,
        procedure_name AS e_procedure_name,
        toString(channel) AS e_channel,
        toString(source) AS e_source,
        toString(submitted_by) AS e_submitted_by,
        agency AS e_agency,
        toString(admin_level) AS e_admin_level,
        submitted_at AS e_submitted_at,
        received_at AS e_received_at,
        due_at AS e_due_at,
        resolved_at AS e_resolved_at,
        returned_at AS e_returned_at,
        fee_paid_online AS e_fee_paid_online
    FROM {database}.dossier_events
)
GROUP BY site, dossier_code;

-- The finished state, one row per dossier (FINAL merges the parts' rows of a dossier on read).
-- result_at = resolved_at, else returned_at (a sender that reports only "result returned").
-- on_time = result_at <= due_at (NULL while unresolved or without a due time). processing_s =
-- received_at -> returned_at (else result_at), in seconds. Filter on site: it is the primary
-- key's prefix, so only that site's rows are read.
CREATE VIEW IF NOT EXISTS {database}.dossiers AS
SELECT
    site,
    dossier_code,
    finalizeAggregation(status) AS status,
    statuses_seen,
    first_event_ts,
    last_event_ts,
    procedure_code,
    procedure_name,
    channel,
    source,
    submitted_by,
    agency,
    admin_level,
    coalesce(submitted_reported, submitted_first) AS submitted_at,
    coalesce(received_reported, received_first) AS received_at,
    coalesce(resolved_reported, resolved_first) AS resolved_at,
    coalesce(returned_reported, returned_first) AS returned_at,
    due_at,
    coalesce(resolved_at, returned_at) AS result_at,
    if(result_at IS NULL OR due_at IS NULL, NULL, toUInt8(result_at <= due_at)) AS on_time,
    if(received_at IS NULL OR coalesce(returned_at, result_at) IS NULL, NULL,
       greatest(0, dateDiff('millisecond', received_at, coalesce(returned_at, result_at)) / 1000))
        AS processing_s,
    fee_paid_online
FROM {database}.dossier_state FINAL;
