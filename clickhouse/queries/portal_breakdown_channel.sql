-- portal_breakdown_channel: visits by channel (issue 17 item 2: direct, organic_search, social,
-- email, paid, referral, internal; '' = visits stored before channels existed), by the local
-- date of the visit's start. Rows sorted by visits; total_visits is the sum over every key
-- (before LIMIT) for shares. A referral is 'internal' when its referrer host is a domain of a
-- site of the same agency tree as the visited site, decided here from the registry (the tree
-- can change; README "Channels"): the rollup keeps a referral's key as 'referral:HOST'.
-- Params: sites Array(String), from Date, to Date, keys Array(String) (only these channels;
--   empty = all), limit UInt32.
-- Optional: ch_sites, ch_site_roots, ch_hosts, ch_host_roots, ends — the first four: each
--   selected site's and each registered domain's (without www.) root agency
--   (indicators/channels.py site_tree); left out, no visit is internal. ends — per site (aligned with sites), where its visits stop
--   (issue 16), the exclusive end as the epoch seconds of a local wall-clock time read as UTC,
--   on the hour; left out: the whole period (as portal_breakdown_dim: the days before the cut's
--   day from the rollup, the cut day from the raw sessions).
-- Reads: visits_by_dim_daily (dim 'channel', the 0065 view: signed sums of the session
--   snapshots, exact at any time); with ends, sessions (raw) for each site's cut day.
SELECT
    key,
    sum(visits) AS visits,
    sum(pageviews) AS visit_pageviews,
    sum(duration_ms) AS duration_ms,
    sum(bounces) AS bounces,
    sum(visits) OVER () AS total_visits
FROM
(
    SELECT
        if(startsWith(raw_key, 'referral:'),
           if(transform(substring(raw_key, 10), {ch_hosts:Array(String)}, {ch_host_roots:Array(String)}, '')
                  = transform(toString(site), {ch_sites:Array(String)}, {ch_site_roots:Array(String)}, '-'),
              'internal', 'referral'),
           raw_key) AS key,
        visits, pageviews, duration_ms, bounces
    FROM
    (
        SELECT site, key AS raw_key, visits, pageviews, duration_ms, bounces
        FROM visits_by_dim_daily
        WHERE site IN {sites:Array(String)}
          AND date BETWEEN {from:Date} AND {to:Date}
          AND dim = 'channel'
          AND (empty({ends:Array(Int64)}) OR date < toDate(toDateTime(
              arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 'UTC')))
        UNION ALL
        SELECT
            site,
            if(channel = 'referral', concat('referral:', toString(referrer_host)), toString(channel)) AS raw_key,
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
    )
)
WHERE empty({keys:Array(String)}) OR has({keys:Array(String)}, key)
GROUP BY key
HAVING visits != 0
ORDER BY visits DESC, key
LIMIT {limit:UInt32}
