-- scorecard_digitized: of the dossiers received in the period, how many had their
-- "digitized" flag reported and how many were digitised (issue 16, provisional Decision
-- 766/QĐ-TTg scorecard, group "Số hóa hồ sơ").
-- Which period a dossier counts in: its reception time (as III.3 "received"), from the view
-- dossiers. Its flag: max(digitized) over all its events (any event may carry it; a later
-- "yes" beats an earlier "no"; idempotent, so a resent event changes nothing); NULL on every
-- event = not reported, counted in neither number.
-- Params: sites Array(String), starts Array(Int64), ends Array(Int64): per site in order, the
--   UTC epoch ms of the local midnight opening the period and of the local midnight after its
--   last day (as dossier_procedures).
-- Reads: the view dossiers (one row per dossier, its reception time) and the raw
--   dossier_events (the flag lives only there, migration 0055), both filtered on site, the
--   prefix of their keys.
SELECT
    count() AS received,
    countIf(f.flag IS NOT NULL) AS digitized_reported,
    countIf(f.flag = 1) AS digitized
FROM
(
    SELECT site, dossier_code
    FROM dossiers
    WHERE site IN {sites:Array(String)}
      AND toUnixTimestamp64Milli(received_at)
          >= transform(site, {sites:Array(String)}, {starts:Array(Int64)}, toInt64(0))
      AND toUnixTimestamp64Milli(received_at)
          < transform(site, {sites:Array(String)}, {ends:Array(Int64)}, toInt64(0))
) AS d
LEFT JOIN
(
    -- flag, not digitized: an alias may not shadow the column the WHERE reads
    SELECT site, dossier_code, max(digitized) AS flag
    FROM dossier_events
    WHERE site IN {sites:Array(String)} AND digitized IS NOT NULL
    GROUP BY site, dossier_code
) AS f ON f.site = d.site AND f.dossier_code = d.dossier_code
SETTINGS join_use_nulls = 1
