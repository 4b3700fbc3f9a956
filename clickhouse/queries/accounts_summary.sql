-- accounts_summary: the current account lists of the sites (latest import of each): by type,
-- linked to the national portal (ID_QG given), created and active (last login) in the period.
-- Params: sites Array(String), from Date, to Date (inclusive local dates; the file's times are
--   the site's local time).
-- Reads: the view accounts_current.
SELECT
    count() AS accounts,
    countIf(type = 1) AS business,
    countIf(type = 2) AS individual,
    countIf(type = 3) AS onestop_officer,
    countIf(id_qg != '') AS linked_national,
    countIf(toDate(created_local) BETWEEN {from:Date} AND {to:Date}) AS new_in_period,
    countIf(toDate(last_login_local) BETWEEN {from:Date} AND {to:Date}) AS active_in_period
FROM accounts_current
WHERE site IN {sites:Array(String)}
