-- portal_breakdown_dim: visits by country, device, browser or os of the visit (its first hit),
-- or by its city, entry page, exit page or referrer host ('' = no referrer, a direct visit),
-- by the local date of the visit's start. Rows sorted by visits; total_visits is the sum over
-- every key (before LIMIT) for shares.
-- Params: sites Array(String), from Date, to Date, dim String (country|device|browser|os|
--   city|entry_page|exit_page|referrer|utm_source|utm_medium|utm_campaign; the channel has its
--   own query, portal_breakdown_channel), keys Array(String) (only these keys; empty = all),
--   limit UInt32.
-- Optional: ends — per site (aligned with sites), where its visits stop (issue 16: a period
--   that contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC, on the hour.
--   Left out or empty: no cut, the whole period (the API passes it for periods that contain
--   now). The rollup is daily, so a cut takes the days before the cut's day from it and the
--   visits of the cut's day that started before the cut from the raw sessions (the same signed
--   sums as the rollup's view: exact at any time); only that one day per site is read raw.
-- Reads: visits_by_dim_daily (rollup of sessions: country … os from the 0008 view, city …
--   referrer from the 0012 one, utm_* from the 0065 one): signed sums of the session snapshots, so a visit whose exit
--   page changed while it ran counts on its latest exit page only, exact at any time; with
--   ends, sessions (raw) for each site's cut day.
SELECT
    key,
    sum(visits) AS visits,
    sum(pageviews) AS visit_pageviews,
    sum(duration_ms) AS duration_ms,
    sum(bounces) AS bounces,
    sum(visits) OVER () AS total_visits
FROM
(
    SELECT key, visits, pageviews, duration_ms, bounces
    FROM visits_by_dim_daily
    WHERE site IN {sites:Array(String)}
      AND date BETWEEN {from:Date} AND {to:Date}
      AND dim = {dim:String}
      AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, key))
      AND (empty({ends:Array(Int64)}) OR date < toDate(toDateTime(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC')))
    UNION ALL
    SELECT
        multiIf(
            {dim:String} = 'country', toString(country),
            {dim:String} = 'device', toString(device),
            {dim:String} = 'browser', toString(browser),
            {dim:String} = 'os', toString(os),
            {dim:String} = 'city', toString(city),
            {dim:String} = 'entry_page', entry_page,
            {dim:String} = 'exit_page', exit_page,
            {dim:String} = 'referrer', toString(referrer_host),
            {dim:String} = 'utm_source', toString(utm_source),
            {dim:String} = 'utm_medium', toString(utm_medium),
            {dim:String} = 'utm_campaign', utm_campaign,
            '') AS key,
        toInt64(sign) AS visits,
        sign * toInt64(pageviews) AS pageviews,
        sign * toInt64(duration_ms) AS duration_ms,
        sign * toInt64(is_bounce) AS bounces
    FROM sessions
    WHERE NOT empty({ends:Array(Int64)})
      AND site IN {sites:Array(String)}
      AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
      AND toDate(start_local) = toDate(toDateTime(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC'))
      AND start_local < toDateTime(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC')
      AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, key))
)
GROUP BY key
HAVING visits != 0
ORDER BY visits DESC, key
LIMIT {limit:UInt32}
