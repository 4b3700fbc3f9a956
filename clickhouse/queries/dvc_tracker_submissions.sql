-- dvc_tracker_submissions: the online submissions the DVC portal's tracker saw (EMC II.2–4,
-- seed 000 Phụ lục 2 II.2: "Tổng số lần người dùng thực hiện chức năng nộp hồ sơ trực tuyến
-- trên Cổng dịch vụ công trực tuyến"), per site and procedure code, ready to be counted once
-- with the dossiers pushed under the same site (indicators.dossiers.merge_submissions).
-- A submission event is an event hit named dvc/submit/PROCEDURE[/DOSSIER] (the tracker's
-- trackDVC(procedure, "submit"[, dossier]) or trackEvent("dvc", "submit", …)).
-- Columns: uncoded = events without a dossier code (each event one submission; a hit stored
--   twice under its event id is one event); coded_only =
--   distinct dossier codes of events that name no dossier pushed under the site (counted
--   once however often the event was sent); confirmed = distinct dossier codes of events whose
--   pushed dossier was submitted in the period (the pushed dossier counts them: its
--   submission time decides the period; a code whose pushed dossier was submitted in another
--   period counts there). A matched dossier's procedure is the pushed one.
-- Params: sites Array(String), from Date, to Date, starts Array(Int64), ends Array(Int64).
--   starts/ends: per site (aligned with sites) the UTC epoch milliseconds where the period
--   (or its cut) opens and ends; from/to the period's inclusive local dates (they only narrow
--   the rows read by the primary key).
-- Reads: pageviews (raw: the event hits of the period, by the primary key (site, local
--   date)); the view dossiers (current state of each pushed dossier) for the event codes;
--   the view catalog for the procedure's level (ID MCDT; NULL = not in the default catalog).
WITH events AS
(
    SELECT
        site,
        event_id,
        splitByChar('/', name) AS parts,
        parts[3] AS procedure_code,
        if(length(parts) >= 4, parts[4], '') AS dossier_code
    FROM pageviews
    WHERE site IN {sites:Array(String)}
      AND type = 'event'
      AND startsWith(name, 'dvc/submit/')
      AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
      AND toUnixTimestamp64Milli(ts)
          >= transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0))
      AND toUnixTimestamp64Milli(ts)
          < transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0))
),
pushed AS
(
    SELECT
        site,
        dossier_code,
        procedure_code,
        toUnixTimestamp64Milli(submitted_at)
            >= transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0))
        AND toUnixTimestamp64Milli(submitted_at)
            < transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0)) AS in_period
    FROM dossiers
    WHERE site IN {sites:Array(String)}
      AND submitted_at IS NOT NULL
      AND dossier_code IN (SELECT dossier_code FROM events WHERE dossier_code != '')
)
SELECT
    g.site AS site,
    g.procedure_code AS procedure_code,
    if(c.id_mcdt = '', NULL, c.level) AS level,
    c.name AS catalog_name,
    g.uncoded AS uncoded,
    g.coded_only AS coded_only,
    g.confirmed AS confirmed
FROM
(
    SELECT
        e.site AS site,
        if(p.dossier_code = '', e.procedure_code, p.procedure_code) AS procedure_code,
        toUInt64(uniqExactIf(e.event_id, e.dossier_code = '')) AS uncoded,
        toUInt64(uniqExactIf(e.dossier_code, e.dossier_code != '' AND p.dossier_code = ''))
            AS coded_only,
        toUInt64(uniqExactIf(e.dossier_code, p.dossier_code != '' AND p.in_period)) AS confirmed
    FROM events AS e
    LEFT JOIN pushed AS p ON p.site = e.site AND p.dossier_code = e.dossier_code
    GROUP BY site, procedure_code
) AS g
LEFT JOIN
(
    SELECT site, id_mcdt, level, name FROM catalog WHERE site IN {sites:Array(String)}
) AS c ON c.site = g.site AND c.id_mcdt = g.procedure_code
ORDER BY site, procedure_code
