-- dossier_period: every dossier number of one period for the DVC and one-stop overviews and
-- the quarterly report, in one pass. Which period a dossier counts in: submitted by its
-- submission time, received by its reception time, resolved by its result time (resolved,
-- else returned), processing time by the time its result was returned; so a dossier received
-- in one period and resolved in the next counts as received in the first and resolved in the
-- second. Services are (site, procedure code) pairs (hashed for speed); dossiers without a procedure code count
-- in dossier numbers but never as a service.
-- Params: sites Array(String), starts Array(Int64), ends Array(Int64), agency String.
--   starts/ends hold, for each site in order, the UTC epoch milliseconds of the local midnight
--   that opens the period and of the local midnight after its last day (inclusive local dates
--   in each site's own timezone); agency = '' for every agency, else the dossiers' agency.
-- Reads: the view dossiers (dossier_state merged: one row per dossier, its current state) and
--   the view catalog (each site's default catalog version), joined on the procedure code
--   (= ID MCDT); lvl is NULL for a procedure missing from the catalog (reported, not guessed).
SELECT
    countIf(sub) AS submitted,
    countIf(sub AND lvl = 4) AS submitted_l4,
    countIf(sub AND lvl = 3) AS submitted_l3,
    countIf(sub AND lvl IS NULL) AS submitted_unknown_procedure,
    uniqExactIf(svc, sub AND lvl = 4) AS l4_services_submitted,
    uniqExactIf(svc, sub AND lvl = 3) AS l3_services_submitted,
    countIf(rec) AS received,
    countIf(rec AND online) AS received_online,
    countIf(rec AND lvl = 4) AS received_l4,
    countIf(rec AND online AND lvl = 4) AS received_online_l4,
    countIf(rec AND lvl = 3) AS received_l3,
    countIf(rec AND online AND lvl = 3) AS received_online_l3,
    countIf(rec AND lvl IS NULL) AS received_unknown_procedure,
    uniqExactIf(svc, rec AND has_code) AS services_received,
    uniqExactIf(svc, rec AND online AND has_code) AS services_received_online,
    uniqExactIf(svc, rec AND lvl = 4) AS l4_services_received,
    uniqExactIf(svc, rec AND online AND lvl = 4) AS l4_services_received_online,
    uniqExactIf(svc, rec AND lvl = 3) AS l3_services_received,
    uniqExactIf(svc, rec AND online AND lvl = 3) AS l3_services_received_online,
    uniqExactIf(svc, rec AND has_code
        AND (fee_paid_online IS NOT NULL OR bitTest(statuses_seen, 6))) AS services_with_fees,
    uniqExactIf(svc, rec AND has_code AND fee_paid_online = 1) AS services_paid_online,
    countIf(fin AND processing_s IS NOT NULL) AS finished,
    sumIf(processing_s, fin AND processing_s IS NOT NULL) AS processing_s_total,
    countIf(res) AS resolved,
    countIf(res AND on_time = 1) AS resolved_on_time,
    countIf(res AND due_ms IS NOT NULL) AS resolved_with_due,
    countIf(received_ms < p_end AND due_ms < p_end
        AND (result_ms IS NULL OR result_ms >= p_end)
        -- not rejected (bit 3), withdrawn (7) or stopped (8)
        AND bitAnd(statuses_seen, 392) = 0) AS overdue_open
FROM
(
    SELECT
        d.*,
        if(c.id_mcdt = '', NULL, c.level) AS lvl,
        c.name AS catalog_name,
        cityHash64(d.site, d.procedure_code) AS svc,
        d.procedure_code != '' AS has_code,
        d.channel = 'online' AS online,
        transform(d.site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0)) AS p_start,
        transform(d.site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0)) AS p_end,
        d.submitted_ms >= p_start AND d.submitted_ms < p_end AS sub,
        d.received_ms >= p_start AND d.received_ms < p_end AS rec,
        d.result_ms >= p_start AND d.result_ms < p_end AS res,
        d.finished_ms >= p_start AND d.finished_ms < p_end AS fin
    FROM
    (
        SELECT
            site, dossier_code, statuses_seen, procedure_code, procedure_name, channel,
            source, agency, admin_level, on_time, processing_s, fee_paid_online,
            toUnixTimestamp64Milli(submitted_at) AS submitted_ms,
            toUnixTimestamp64Milli(received_at) AS received_ms,
            toUnixTimestamp64Milli(due_at) AS due_ms,
            toUnixTimestamp64Milli(result_at) AS result_ms,
            toUnixTimestamp64Milli(coalesce(returned_at, result_at)) AS finished_ms
        FROM dossiers
        WHERE site IN {sites:Array(String)}
          AND ({agency:String} = '' OR agency = {agency:String})
    ) AS d
    LEFT JOIN
    (
        SELECT site, id_mcdt, level, name FROM catalog WHERE site IN {sites:Array(String)}
    ) AS c ON c.site = d.site AND c.id_mcdt = d.procedure_code
)
