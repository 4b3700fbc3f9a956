-- dossier_procedures: per site and procedure code, every dossier count of one period, with the
-- procedure's level in the site's default catalog. The DVC and one-stop overviews, the top
-- services, the unknown-procedure list and the quarterly report all sum these rows (ratios from
-- summed numerators and denominators; a service = a (site, procedure) row with dossiers).
-- Which period a dossier counts in: submitted by its submission time, received by its
-- reception time, resolved by its result time (resolved, else returned), processing time by
-- the time its result was returned; so a dossier received in one period and resolved in the
-- next counts as received in the first and resolved in the second.
-- Two periods in one pass (period_no 1 = the period, 2 = the comparison period): reading
-- every dossier of the sites once is the expensive part, so it is done once.
-- Params: sites Array(String), starts Array(Int64), ends Array(Int64), prev_starts
--   Array(Int64), prev_ends Array(Int64), periods UInt8, agency String.
--   starts/ends hold, for each site in order, the UTC epoch milliseconds of the local midnight
--   that opens the period and of the local midnight after its last day (inclusive local dates
--   in each site's own timezone); prev_starts/prev_ends the same for the comparison period;
--   periods = 1 (no comparison; prev_* are then ignored) or 2; agency = '' for every agency,
--   else the dossiers' agency.
-- Reads: the view dossiers (dossier_state read with FINAL: one row per dossier, its current
--   state), grouped per procedure first; then the view catalog (each site's default catalog
--   version) joined on the procedure code (= ID MCDT). level is NULL for a procedure missing
--   from the catalog (reported, not guessed). Grouping before the join keeps the join to a
--   few thousand rows however many dossiers there are.
SELECT
    g.period_no AS period_no,
    g.site AS site,
    g.procedure_code AS procedure_code,
    if(c.id_mcdt = '', NULL, c.level) AS level,
    c.name AS catalog_name,
    g.procedure_name AS procedure_name,
    g.submitted AS submitted,
    g.submitted_or_received AS submitted_or_received,
    g.received AS received,
    g.received_online AS received_online,
    g.received_online_sources AS received_online_sources,
    g.fee_reported AS fee_reported,
    g.paid_online AS paid_online,
    g.finished AS finished,
    g.processing_s_total AS processing_s_total,
    g.resolved AS resolved,
    g.resolved_on_time AS resolved_on_time,
    g.resolved_with_due AS resolved_with_due,
    g.overdue_open AS overdue_open
FROM
(
    SELECT
        period_no,
        site,
        procedure_code,
        max(procedure_name) AS procedure_name,
        countIf(sub) AS submitted,
        countIf(sub OR rec) AS submitted_or_received,
        countIf(rec) AS received,
        countIf(rec AND channel = 'online') AS received_online,
        -- III.3 (seed 000): received "từ tất cả các nguồn trực tuyến" = received online (from
        -- the DVC portal, the national portal or another system), or from the DVC portal or
        -- the national portal whatever the reception channel says ('other' alone is not an
        -- online source: senders use it for counters and post too)
        countIf(rec AND (channel = 'online' OR source IN ('dvc_portal', 'national_portal')))
            AS received_online_sources,
        countIf(rec AND (fee_paid_online IS NOT NULL OR bitTest(statuses_seen, 6))) AS fee_reported,
        countIf(rec AND fee_paid_online = 1) AS paid_online,
        countIf(fin AND processing_s IS NOT NULL) AS finished,
        sumIf(processing_s, fin AND processing_s IS NOT NULL) AS processing_s_total,
        countIf(res) AS resolved,
        countIf(res AND on_time = 1) AS resolved_on_time,
        countIf(res AND due_ms IS NOT NULL) AS resolved_with_due,
        -- received before the period's end, due before it, not resolved by it, and never
        -- rejected (bit 3), withdrawn (7) or stopped (8)
        countIf(received_ms < p_end AND due_ms < p_end
            AND (result_ms IS NULL OR result_ms >= p_end)
            AND bitAnd(statuses_seen, 392) = 0) AS overdue_open
    FROM
    (
        SELECT
            site, procedure_code, procedure_name, channel, source, statuses_seen, on_time,
            processing_s, fee_paid_online,
            toUnixTimestamp64Milli(submitted_at) AS submitted_ms,
            toUnixTimestamp64Milli(received_at) AS received_ms,
            toUnixTimestamp64Milli(due_at) AS due_ms,
            toUnixTimestamp64Milli(result_at) AS result_ms,
            toUnixTimestamp64Milli(coalesce(returned_at, result_at)) AS finished_ms,
            arrayJoin(range(1, {periods:UInt8} + 1)) AS period_no,
            if(period_no = 1,
               transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0)),
               transform(site, {sites:Array(String)}, {prev_starts:Array(Int64)}, toInt64(0)))
                AS p_start,
            if(period_no = 1,
               transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0)),
               transform(site, {sites:Array(String)}, {prev_ends:Array(Int64)}, toInt64(0)))
                AS p_end,
            submitted_ms >= p_start AND submitted_ms < p_end AS sub,
            received_ms >= p_start AND received_ms < p_end AS rec,
            result_ms >= p_start AND result_ms < p_end AS res,
            finished_ms >= p_start AND finished_ms < p_end AS fin
        FROM dossiers
        WHERE site IN {sites:Array(String)}
          AND ({agency:String} = '' OR agency = {agency:String})
    )
    GROUP BY period_no, site, procedure_code
    HAVING submitted + received + resolved + finished + overdue_open > 0
) AS g
LEFT JOIN
(
    SELECT site, id_mcdt, level, name FROM catalog WHERE site IN {sites:Array(String)}
) AS c ON c.site = g.site AND c.id_mcdt = g.procedure_code
ORDER BY period_no, site, procedure_code
