-- dossier_top_services: services of one catalog level by dossiers received in the period
-- (EMC III.6: level 4 ranked by online dossiers; III.7: level 3 ranked by all dossiers).
-- Params: sites Array(String), starts Array(Int64), ends Array(Int64), agency String.
--   starts/ends hold, for each site in order, the UTC epoch milliseconds of the local midnight
--   that opens the period and of the local midnight after its last day (inclusive local dates
--   in each site's own timezone); agency = '' for every agency, else the dossiers' agency.
--   level UInt8 (4 or 3), order_online UInt8 (1 = rank by online dossiers), limit UInt32.
-- Reads: the view dossiers (dossier_state merged: one row per dossier, its current state) and
--   the view catalog (each site's default catalog version), joined on the procedure code
--   (= ID MCDT); lvl is NULL for a procedure missing from the catalog (reported, not guessed).
SELECT
    site,
    procedure_code,
    any(catalog_name) AS name,
    countIf(online) AS online_dossiers,
    count() AS dossiers
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
WHERE rec AND lvl = {level:UInt8}
GROUP BY site, procedure_code
ORDER BY if({order_online:UInt8} = 1, online_dossiers, dossiers) DESC, dossiers DESC,
    site, procedure_code
LIMIT {limit:UInt32}
