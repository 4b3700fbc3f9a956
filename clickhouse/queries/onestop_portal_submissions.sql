-- onestop_portal_submissions: EMC III.1 "Tổng số HS nộp trên cổng" of one-stop systems (seed
-- 000 Phụ lục 2 III.1: "Tổng số hồ sơ mà người dân nộp trên Cổng dịch vụ công trực tuyến (nhưng
-- chưa xác định có nộp thành công hay không)"), per one-stop site and procedure code.
-- EMC senders push a portal submission under the DVC portal's site and its reception and
-- results under the one-stop system's site, with the same dossier code. A one-stop site's
-- portal submissions are the distinct dossier codes that are
--   own:    its own dossiers with a submission time (pushed under it);
--   code:   dossiers submitted under a DVC site whose code one of its dossiers has;
--   agency: dossiers submitted under a DVC site whose code no dossier of any one-stop site
--           has (the two systems number them differently), attributed to the one-stop site of
--           the DVC site's agency (indicators.dossiers.portal_links: the only one-stop site
--           registered at the same agency; none = not attributed).
-- A code found more than one way counts once, under the first way listed (source), at its
-- earliest submission time, which decides the period.
-- Params: sites Array(String) (the one-stop sites asked for), starts Array(Int64), ends
--   Array(Int64) (per site, the UTC epoch ms of the period's local start and end or cut),
--   dvc_sites Array(String) (every DVC site), dvc_owner Array(String) (aligned with dvc_sites:
--   the one-stop site its unmatched submissions go to, '' = none), onestop_sites Array(String)
--   (every one-stop site: where a code counts as known).
-- Reads: the view dossiers (current state of each dossier, FINAL), of the selected one-stop
--   sites, of every DVC site (its submitted dossiers) and, for the codes of those, of every
--   one-stop site.
WITH
dvc AS
(
    SELECT
        site AS dvc_site,
        dossier_code,
        procedure_code,
        toUnixTimestamp64Milli(submitted_at) AS ms
    FROM dossiers
    WHERE site IN {dvc_sites:Array(String)} AND submitted_at IS NOT NULL
),
own AS
(
    SELECT site, dossier_code, procedure_code, toUnixTimestamp64Milli(submitted_at) AS ms
    FROM dossiers
    WHERE site IN {sites:Array(String)}
)
SELECT
    site,
    procedure_code,
    toUInt64(count()) AS submitted,
    toUInt64(countIf(source = 1)) AS own,
    toUInt64(countIf(source = 2)) AS by_code,
    toUInt64(countIf(source = 3)) AS by_agency
FROM
(
    SELECT
        site,
        dossier_code,
        argMin(procedure_code, how) AS procedure_code,
        min(how) AS source,
        min(ms) AS first_ms
    FROM
    (
        SELECT site, dossier_code, procedure_code, ms, 1 AS how
        FROM own
        WHERE ms IS NOT NULL
        UNION ALL
        SELECT o.site, d.dossier_code, o.procedure_code, d.ms, 2 AS how
        FROM dvc AS d
        INNER JOIN own AS o ON o.dossier_code = d.dossier_code
        UNION ALL
        SELECT
            transform(dvc_site, {dvc_sites:Array(String)}, {dvc_owner:Array(String)}, '')
                AS site,
            dossier_code, procedure_code, ms, 3 AS how
        FROM dvc
        WHERE site IN {sites:Array(String)}
          AND dossier_code NOT IN (
              SELECT dossier_code FROM dossiers
              WHERE site IN {onestop_sites:Array(String)}
                AND dossier_code IN (SELECT dossier_code FROM dvc)
          )
    )
    GROUP BY site, dossier_code
)
WHERE first_ms >= transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0))
  AND first_ms < transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0))
GROUP BY site, procedure_code
ORDER BY site, procedure_code
