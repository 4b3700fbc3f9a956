-- portal_bounce_users_by: I.4 over users (seed 000, Phụ lục 2, I.4: "phần trăm người dùng rời
-- khỏi Cổng/ Trang thông tin điện tử sau khi chỉ truy cập vào một trang thành phần") per row of a
-- breakdown: per country, device, browser, os, city, entry page, exit page or referrer host of the
-- visit, per site, or per local hour of day of the visit's start. users = distinct visitors with a
-- visit of that row started in the period; bounced_users = those of them every one of whose
-- visits of that row bounced (as portal_bounce_users, row by row).
-- Params: sites Array(String), from Date, to Date, by String (country|device|browser|os|city|
--   entry_page|exit_page|referrer|utm_source|utm_medium|utm_campaign|channel|site|
--   hour_of_day), keys Array(String) (only these keys; empty = all).
-- Optional: ch_sites, ch_site_roots, ch_hosts, ch_host_roots — for by=channel, each selected
--   site's and each registered domain's root agency (fragment channel: a referral from the same
--   tree is 'internal'); left out, no visit is internal.
-- Optional: ends — per site (aligned with sites), where its visits stop (issue 16: a period that
--   contains now is compared with the same elapsed part of the comparison period): the
--   exclusive end as the epoch seconds of a local wall-clock time read as UTC, on the hour.
--   Left out or empty: no cut, the whole period.
-- Reads: sessions (raw: a per-visitor condition cannot be kept in a summing or uniq rollup);
--   sum(sign) and sum(sign * is_bounce) over a visitor's snapshot rows of a key are their visits
--   and bounced visits now (a retracted snapshot, e.g. of an exit page that changed, cancels
--   itself). The primary key (site, local date) bounds the scan to the selected sites and days.
SELECT
    key,
    countIf(visits > 0) AS users,
    countIf(visits > 0 AND bounces = visits) AS bounced_users
FROM
(
    SELECT
        multiIf(
            {by:String} = 'country', toString(country),
            {by:String} = 'device', toString(device),
            {by:String} = 'browser', toString(browser),
            {by:String} = 'os', toString(os),
            {by:String} = 'city', toString(city),
            {by:String} = 'entry_page', entry_page,
            {by:String} = 'exit_page', exit_page,
            {by:String} = 'referrer', toString(referrer_host),
            {by:String} = 'utm_source', toString(utm_source),
            {by:String} = 'utm_medium', toString(utm_medium),
            {by:String} = 'utm_campaign', utm_campaign,
            {by:String} = 'channel', (
                -- include: channel
            ),
            {by:String} = 'site', toString(site),
            {by:String} = 'hour_of_day', toString(toHour(start_local)),
            '') AS key,
        visitor_id,
        sum(toInt64(sign)) AS visits,
        sum(sign * toInt64(is_bounce)) AS bounces
    FROM sessions
    WHERE site IN {sites:Array(String)}
      AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
      AND (empty({ends:Array(Int64)}) OR toStartOfHour(start_local) < toDateTime64(
          arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3,
          'UTC'))
    GROUP BY key, visitor_id
)
WHERE empty({keys:Array(String)}) OR has({keys:Array(String)}, key)
GROUP BY key
ORDER BY key
