-- onestop_portal_submissions: the part of EMC III.1 "Tổng số HS nộp trên cổng" of one-stop
-- systems (seed 000 Phụ lục 2 III.1: "Tổng số hồ sơ mà người dân nộp trên Cổng dịch vụ công trực
-- tuyến (nhưng chưa xác định có nộp thành công hay không)") that was pushed under a DVC portal's
-- site: EMC senders push a portal submission under the DVC site and its reception and results
-- under the one-stop system's site, with the same dossier code. Per one-stop site and period:
--   by_code:   dossiers submitted under a DVC site in the period whose code a dossier of the
--              one-stop site has, that one having no submission time of its own (those count
--              as its own submissions, in dossier_procedures: never twice);
--   by_agency: dossiers submitted under a DVC site in the period whose code no dossier of any
--              one-stop site has (the two systems number them differently), attributed to the
--              one-stop site of the DVC site's agency (indicators.dossiers.portal_links: the
--              only one-stop site registered at the same agency; none = not attributed).
-- Distinct dossier codes per site; the DVC submission time decides the period, in the one-stop
-- site's bounds. Two periods in one pass (period_no 1 = the period, 2 = the comparison one).
-- Params: sites Array(String) (the one-stop sites asked for), starts Array(Int64), ends
--   Array(Int64), prev_starts Array(Int64), prev_ends Array(Int64) (per site, the UTC epoch ms
--   of the local start and end or cut of the period and of the comparison period), periods
--   UInt8 (1 or 2), dvc_sites Array(String) (every DVC site), dvc_owner Array(String)
--   (aligned with dvc_sites: the one-stop site its unmatched submissions go to, '' = none),
--   onestop_sites Array(String) (every one-stop site: where a code counts as known).
-- Reads: the view dossiers (one row per dossier, FINAL): the submitted dossiers of every DVC
--   site, then only the dossiers of one-stop sites with those codes (primary key (site,
--   dossier_code)): nothing of the one-stop sites is read when no DVC site has submissions.
WITH
dvc AS
(
    SELECT
        site AS dvc_site,
        dossier_code,
        toUnixTimestamp64Milli(submitted_at) AS ms
    FROM dossiers
    WHERE site IN {dvc_sites:Array(String)} AND submitted_at IS NOT NULL
),
linked AS
(
    SELECT o.site AS site, d.dossier_code AS dossier_code, d.ms AS ms, 1 AS how
    FROM dvc AS d
    INNER JOIN
    (
        SELECT site, dossier_code
        FROM dossiers
        WHERE site IN {sites:Array(String)}
          AND submitted_at IS NULL
          AND dossier_code IN (SELECT dossier_code FROM dvc)
    ) AS o ON o.dossier_code = d.dossier_code
    UNION ALL
    SELECT
        transform(dvc_site, {dvc_sites:Array(String)}, {dvc_owner:Array(String)}, '') AS site,
        dossier_code,
        ms,
        2 AS how
    FROM dvc
    WHERE site IN {sites:Array(String)}
      AND dossier_code NOT IN (
          SELECT dossier_code FROM dossiers
          WHERE site IN {onestop_sites:Array(String)}
            AND dossier_code IN (SELECT dossier_code FROM dvc)
      )
)
SELECT
    period_no,
    site,
    toUInt64(uniqExactIf(dossier_code, how = 1)) AS by_code,
    toUInt64(uniqExactIf(dossier_code, how = 2)) AS by_agency
FROM linked
ARRAY JOIN range(1, {periods:UInt8} + 1) AS period_no
WHERE ms >= [transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0)),
             transform(site, {sites:Array(String)}, {prev_starts:Array(Int64)}, toInt64(0))][period_no]
  AND ms < [transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0)),
            transform(site, {sites:Array(String)}, {prev_ends:Array(Int64)}, toInt64(0))][period_no]
GROUP BY period_no, site
ORDER BY period_no, site
