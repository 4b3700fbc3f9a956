-- report_dossiers: per site, procedure code, administrative level and source, the dossier
-- counts of one period that the official forms need beyond dossier_procedures (issue 16): who
-- filed the online dossiers (seed 003 section VII: the citizen or business itself, or an
-- officer on its behalf), resolution before / on / after the due date (seed 004 footnote 5),
-- received per source (the III.3 breakdown), and the agencies that received the service's
-- dossiers (PL3A.2/3A.3 column 5). Each site's catalog level, name and url come along.
-- Which period a dossier counts in: received by its reception time, resolved by its result
-- time (resolved, else returned), as in dossier_procedures.
-- Before / on / after: "before" = the result's local date is before the due time's local date;
-- "on" = the same local date, at or before the due time; "after" = after the due time (so
-- before + on = on_time of the view dossiers). Local dates are in the zone tz: the caller runs this
-- once per timezone, with the sites of that timezone (ClickHouse wants a constant zone).
-- Params: sites Array(String), starts Array(Int64), ends Array(Int64), agency String,
--   tz String. starts/ends hold, for each site in order, the UTC epoch milliseconds of the
--   local midnight that opens the period and of the local midnight after its last day;
--   agency = '' for every agency, else the dossiers' agency; tz = the sites' timezone.
-- Reads: the view dossiers (dossier_state read with FINAL: one row per dossier), grouped
--   first; then the view catalog (each site's default catalog version) joined on the
--   procedure code (= ID MCDT). level is NULL for a procedure missing from the catalog.
SELECT
    g.site AS site,
    g.procedure_code AS procedure_code,
    g.admin_level AS admin_level,
    g.source AS source,
    if(c.id_mcdt = '', NULL, c.level) AS level,
    if(c.name = '', g.procedure_name, c.name) AS name,
    c.url AS url,
    g.received AS received,
    g.received_online AS received_online,
    g.online_by_citizen AS online_by_citizen,
    g.online_by_officer AS online_by_officer,
    g.resolved AS resolved,
    g.resolved_online AS resolved_online,
    g.resolved_before AS resolved_before,
    g.resolved_on_day AS resolved_on_day,
    g.resolved_late AS resolved_late,
    g.agencies AS agencies
FROM
(
    SELECT
        site,
        procedure_code,
        admin_level,
        source,
        max(procedure_name) AS procedure_name,
        countIf(rec) AS received,
        countIf(rec AND channel = 'online') AS received_online,
        countIf(rec AND channel = 'online' AND submitted_by = 'citizen') AS online_by_citizen,
        countIf(rec AND channel = 'online' AND submitted_by = 'officer') AS online_by_officer,
        countIf(res) AS resolved,
        countIf(res AND channel = 'online') AS resolved_online,
        countIf(res AND on_time = 1
            AND toDate(result_at, {tz:String}) < toDate(due_at, {tz:String})) AS resolved_before,
        countIf(res AND on_time = 1
            AND toDate(result_at, {tz:String}) = toDate(due_at, {tz:String})) AS resolved_on_day,
        countIf(res AND on_time = 0) AS resolved_late,
        groupUniqArrayIf(agency, rec AND agency != '') AS agencies
    FROM
    (
        SELECT
            site, procedure_code, procedure_name, admin_level, source, channel, submitted_by,
            agency, on_time, result_at, due_at,
            toUnixTimestamp64Milli(received_at) AS received_ms,
            toUnixTimestamp64Milli(result_at) AS result_ms,
            transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0)) AS p_start,
            transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0)) AS p_end,
            received_ms >= p_start AND received_ms < p_end AS rec,
            result_ms >= p_start AND result_ms < p_end AS res
        FROM dossiers
        WHERE site IN {sites:Array(String)}
          AND ({agency:String} = '' OR agency = {agency:String})
    )
    WHERE rec OR res
    GROUP BY site, procedure_code, admin_level, source
) AS g
LEFT JOIN
(
    SELECT site, id_mcdt, level, name, url FROM catalog WHERE site IN {sites:Array(String)}
) AS c ON c.site = g.site AND c.id_mcdt = g.procedure_code
ORDER BY site, procedure_code, admin_level, source
