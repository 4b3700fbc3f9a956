-- 0020 dossier_state: the current state of every dossier (site, dossier_code), kept from the
-- raw dossier_events by a materialized view, and the view `dossiers` that reads it.
-- Why this shape: events arrive late, out of order and more than once (a resent event, a
-- Kafka replay, a retried insert). Every column below is an aggregate that is both
-- order-independent and idempotent, so the state is the same whatever the arrival order and
-- however often an event is stored again:
--   * "latest value" columns are argMax(value, (has_value, ts, rank, event_id)): a known value
--     beats an empty one, then the later event time, then the later lifecycle step (rank, for
--     two events in the same millisecond), then the event id as a final total order;
--   * "first time" columns are min() and "ever" flags are max()/groupBitOr(): idempotent.
-- Nothing counts events, so no duplicate can inflate a number; that is also why the backfill
-- INSERT at the end may overlap with rows the view already saw. The status ranks and the
-- national (1-10) / EMC push (0-3) code tables live in schemas/dossier_status.py.
CREATE TABLE IF NOT EXISTS {database}.dossier_state
(
    site LowCardinality(String),
    dossier_code String,
    status AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt8, String)),
    statuses_seen SimpleAggregateFunction(groupBitOr, UInt16),
    first_event_ts SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_event_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    procedure_code AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    procedure_name AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    channel AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    source AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    submitted_by AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    agency AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    admin_level AggregateFunction(argMax, String, Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    -- times reported in the events' own fields (latest report wins: a sender may correct them)
    submitted_at_reported AggregateFunction(argMax, Nullable(DateTime64(3, 'UTC')), Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    received_at_reported AggregateFunction(argMax, Nullable(DateTime64(3, 'UTC')), Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    due_at_reported AggregateFunction(argMax, Nullable(DateTime64(3, 'UTC')), Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    resolved_at_reported AggregateFunction(argMax, Nullable(DateTime64(3, 'UTC')), Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    returned_at_reported AggregateFunction(argMax, Nullable(DateTime64(3, 'UTC')), Tuple(UInt8, DateTime64(3, 'UTC'), UInt8, String)),
    -- fallbacks: the event time of the first event with that status
    submitted_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    received_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    resolved_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    returned_first SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    fee_paid_online SimpleAggregateFunction(max, Nullable(UInt8))
)
ENGINE = AggregatingMergeTree
ORDER BY (site, dossier_code)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.dossier_state_mv TO {database}.dossier_state AS
SELECT
    site,
    dossier_code,
    argMaxState(e_status, (e_ts, e_rank, e_id)) AS status,
    groupBitOr(bitShiftLeft(toUInt16(1), e_rank)) AS statuses_seen,
    min(e_ts) AS first_event_ts,
    max(e_ts) AS last_event_ts,
    argMaxState(e_procedure_code, (e_procedure_code != '', e_ts, e_rank, e_id)) AS procedure_code,
    argMaxState(e_procedure_name, (e_procedure_name != '', e_ts, e_rank, e_id)) AS procedure_name,
    argMaxState(e_channel, (e_channel != '', e_ts, e_rank, e_id)) AS channel,
    argMaxState(e_source, (e_source != '', e_ts, e_rank, e_id)) AS source,
    argMaxState(e_submitted_by, (e_submitted_by != '', e_ts, e_rank, e_id)) AS submitted_by,
    argMaxState(e_agency, (e_agency != '', e_ts, e_rank, e_id)) AS agency,
    argMaxState(e_admin_level, (e_admin_level != '', e_ts, e_rank, e_id)) AS admin_level,
    argMaxState(e_submitted_at, (isNotNull(e_submitted_at), e_ts, e_rank, e_id)) AS submitted_at_reported,
    argMaxState(e_received_at, (isNotNull(e_received_at), e_ts, e_rank, e_id)) AS received_at_reported,
    argMaxState(e_due_at, (isNotNull(e_due_at), e_ts, e_rank, e_id)) AS due_at_reported,
    argMaxState(e_resolved_at, (isNotNull(e_resolved_at), e_ts, e_rank, e_id)) AS resolved_at_reported,
    argMaxState(e_returned_at, (isNotNull(e_returned_at), e_ts, e_rank, e_id)) AS returned_at_reported,
    min(if(e_status = 'submitted', toNullable(e_ts), NULL)) AS submitted_first,
    min(if(e_status = 'received', toNullable(e_ts), NULL)) AS received_first,
    min(if(e_status = 'resolved', toNullable(e_ts), NULL)) AS resolved_first,
    min(if(e_status = 'returned', toNullable(e_ts), NULL)) AS returned_first,
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
    argMaxState(e_status, (e_ts, e_rank, e_id)) AS status,
    groupBitOr(bitShiftLeft(toUInt16(1), e_rank)) AS statuses_seen,
    min(e_ts) AS first_event_ts,
    max(e_ts) AS last_event_ts,
    argMaxState(e_procedure_code, (e_procedure_code != '', e_ts, e_rank, e_id)) AS procedure_code,
    argMaxState(e_procedure_name, (e_procedure_name != '', e_ts, e_rank, e_id)) AS procedure_name,
    argMaxState(e_channel, (e_channel != '', e_ts, e_rank, e_id)) AS channel,
    argMaxState(e_source, (e_source != '', e_ts, e_rank, e_id)) AS source,
    argMaxState(e_submitted_by, (e_submitted_by != '', e_ts, e_rank, e_id)) AS submitted_by,
    argMaxState(e_agency, (e_agency != '', e_ts, e_rank, e_id)) AS agency,
    argMaxState(e_admin_level, (e_admin_level != '', e_ts, e_rank, e_id)) AS admin_level,
    argMaxState(e_submitted_at, (isNotNull(e_submitted_at), e_ts, e_rank, e_id)) AS submitted_at_reported,
    argMaxState(e_received_at, (isNotNull(e_received_at), e_ts, e_rank, e_id)) AS received_at_reported,
    argMaxState(e_due_at, (isNotNull(e_due_at), e_ts, e_rank, e_id)) AS due_at_reported,
    argMaxState(e_resolved_at, (isNotNull(e_resolved_at), e_ts, e_rank, e_id)) AS resolved_at_reported,
    argMaxState(e_returned_at, (isNotNull(e_returned_at), e_ts, e_rank, e_id)) AS returned_at_reported,
    min(if(e_status = 'submitted', toNullable(e_ts), NULL)) AS submitted_first,
    min(if(e_status = 'received', toNullable(e_ts), NULL)) AS received_first,
    min(if(e_status = 'resolved', toNullable(e_ts), NULL)) AS resolved_first,
    min(if(e_status = 'returned', toNullable(e_ts), NULL)) AS returned_first,
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

-- The finished state, one row per dossier. Times: the time reported in the events' fields
-- wins, else the event time of the first event with that status. result_at = resolved_at,
-- else returned_at (a sender that reports only "result returned"). on_time = result_at <=
-- due_at (NULL while unresolved or without a due time). processing_s = received_at ->
-- returned_at (else result_at), in seconds. Filter on site inside a subquery for speed.
CREATE VIEW IF NOT EXISTS {database}.dossiers AS
SELECT
    site,
    dossier_code,
    argMaxMerge(status) AS status,
    groupBitOr(statuses_seen) AS statuses_seen,
    min(first_event_ts) AS first_event_ts,
    max(last_event_ts) AS last_event_ts,
    argMaxMerge(procedure_code) AS procedure_code,
    argMaxMerge(procedure_name) AS procedure_name,
    argMaxMerge(channel) AS channel,
    argMaxMerge(source) AS source,
    argMaxMerge(submitted_by) AS submitted_by,
    argMaxMerge(agency) AS agency,
    argMaxMerge(admin_level) AS admin_level,
    coalesce(argMaxMerge(submitted_at_reported), min(submitted_first)) AS submitted_at,
    coalesce(argMaxMerge(received_at_reported), min(received_first)) AS received_at,
    argMaxMerge(due_at_reported) AS due_at,
    coalesce(argMaxMerge(resolved_at_reported), min(resolved_first)) AS resolved_at,
    coalesce(argMaxMerge(returned_at_reported), min(returned_first)) AS returned_at,
    coalesce(resolved_at, returned_at) AS result_at,
    if(result_at IS NULL OR due_at IS NULL, NULL, toUInt8(result_at <= due_at)) AS on_time,
    if(received_at IS NULL OR coalesce(returned_at, result_at) IS NULL, NULL,
       greatest(0, dateDiff('millisecond', received_at, coalesce(returned_at, result_at)) / 1000))
        AS processing_s,
    max(fee_paid_online) AS fee_paid_online
FROM {database}.dossier_state
GROUP BY site, dossier_code;
