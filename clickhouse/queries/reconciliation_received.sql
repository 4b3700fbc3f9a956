-- reconciliation_received: per site, procedure and local day, the dossiers received that day
-- and those whose result came that day (đối soát, issue 18 item 6): the warehouse's side of
-- the comparison with the totals an agency reports itself per procedure and month.
-- Received counts by reception time and resolved by result time (resolved, else returned),
-- exactly as dossier_procedures counts them for the one-stop overview (III.5, resolved), so a
-- month's sum here is the number the overview shows for that month.
-- Params: sites Array(String) (sites sharing one timezone), tz String (their IANA timezone),
--   from Date, to Date (local dates, inclusive).
-- Reads: the view dossiers (dossier_state with FINAL: one row per dossier, its current state),
--   twice (reception days, result days); only these sites' rows (the primary key's prefix).
SELECT site, procedure_code, day, sum(r) AS received, sum(s) AS resolved
FROM
(
    SELECT site, procedure_code, toDate(received_at, {tz:String}) AS day, 1 AS r, 0 AS s
    FROM dossiers
    WHERE site IN {sites:Array(String)} AND received_at IS NOT NULL
    UNION ALL
    SELECT site, procedure_code, toDate(result_at, {tz:String}) AS day, 0 AS r, 1 AS s
    FROM dossiers
    WHERE site IN {sites:Array(String)} AND result_at IS NOT NULL
)
WHERE day BETWEEN {from:Date} AND {to:Date}
GROUP BY site, procedure_code, day
ORDER BY site, procedure_code, day
