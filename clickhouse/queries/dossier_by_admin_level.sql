-- dossier_by_admin_level: per administrative level (central, province, district, commune;
-- '' = not reported) the dossiers received and resolved in the period, resolved on time, and
-- resolved with a known due time (the on-time rate's denominator).
-- Params: sites Array(String), starts Array(Int64), ends Array(Int64), agency String.
--   starts/ends hold, for each site in order, the UTC epoch milliseconds of the local midnight
--   that opens the period and of the local midnight after its last day (inclusive local dates
--   in each site's own timezone); agency = '' for every agency, else the dossiers' agency.
-- Reads: the view dossiers (dossier_state read with FINAL: one row per dossier).
SELECT
    admin_level,
    countIf(rec) AS received,
    countIf(res) AS resolved,
    countIf(res AND on_time = 1) AS resolved_on_time,
    countIf(res AND due_ms IS NOT NULL) AS resolved_with_due
FROM
(
    SELECT
        admin_level, on_time,
        toUnixTimestamp64Milli(received_at) AS received_ms,
        toUnixTimestamp64Milli(due_at) AS due_ms,
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
GROUP BY admin_level
ORDER BY admin_level
