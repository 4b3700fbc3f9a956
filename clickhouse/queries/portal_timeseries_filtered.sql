-- portal_timeseries_filtered: portal_timeseries with filters (issue 17 item 1): per local day or
-- hour (hourly = 1), the numbers of portal_overview_filtered. Only buckets with data come back.
-- Params: sites Array(String), from Date, to Date, ends Array(Int64), hourly UInt8, the filter
-- params below.
-- Reads: sessions and pageviews (raw, bounded by their primary keys (site, local date)).
-- Filters (issue 17, indicators/filters.py): per dimension DIM, f_DIM_on UInt8 (1: an "is one
--   of" filter applies), f_DIM_in Array(String) (the values it allows), f_DIM_out Array(String)
--   (values excluded), f_DIM_has Array(String) (texts the value contains, case-insensitive);
--   visit_filtered / page_filtered / event_filtered UInt8 (1: some visit (or event) / page /
--   event filter applies). Unused conditions are constants ClickHouse folds away. The filter
--   params, DIM by DIM:
--   f_country_on, f_country_in, f_country_out, f_country_has;
--   f_city_on, f_city_in, f_city_out, f_city_has;
--   f_device_on, f_device_in, f_device_out, f_device_has;
--   f_browser_on, f_browser_in, f_browser_out, f_browser_has;
--   f_os_on, f_os_in, f_os_out, f_os_has;
--   f_referrer_on, f_referrer_in, f_referrer_out, f_referrer_has;
--   f_entry_page_on, f_entry_page_in, f_entry_page_out, f_entry_page_has;
--   f_exit_page_on, f_exit_page_in, f_exit_page_out, f_exit_page_has;
--   f_utm_source_on, f_utm_source_in, f_utm_source_out, f_utm_source_has;
--   f_utm_medium_on, f_utm_medium_in, f_utm_medium_out, f_utm_medium_has;
--   f_utm_campaign_on, f_utm_campaign_in, f_utm_campaign_out, f_utm_campaign_has;
--   f_channel_on, f_channel_in, f_channel_out, f_channel_has (the channel of fragment
--   channel, with ch_sites, ch_site_roots, ch_hosts, ch_host_roots Array(String): each
--   selected site's and each registered domain's root agency, for 'internal');
--   f_page_on, f_page_in, f_page_out, f_page_has;
--   f_event_on, f_event_in, f_event_out, f_event_has;
--   goal_filtered UInt8, g_on UInt8, g_in_sites, g_in_regex, g_in_events, g_in_prop_keys,
--   g_in_prop_values, g_out_sites, g_out_regex, g_out_events, g_out_prop_keys,
--   g_out_prop_values Array(String) (issue 17 item 4, a goal filter: the visits with a hit
--   matching one of the g_in goals when g_on = 1, and none matching a g_out goal;
--   indicators/filters.py; one grouped subquery, empty unless goal_filtered = 1).
-- Semantics: a visit dimension (the sessions columns country, city, device, browser, os,
--   referrer_host, entry_page, exit_page, utm_*, channel) selects visits and every hit of them; the page filter
--   (pageviews.path) selects, for visit numbers, visits with at least one matching pageview, and
--   for pageview numbers the matching pageviews; the event filter (pageviews.name of the hits of
--   type 'event') selects the visits with at least one matching event, and all their hits, like
--   a visit dimension. A visit's hits can follow its start by up to 24 h, hence the one-day
--   margins of the session-id subqueries.
-- ends Array(Int64), aligned with sites: the exclusive local end of each site (issue 16 cut) as
--   epoch seconds of the local wall-clock time read as UTC; far in the future when not cut.
SELECT
    bucket,
    v.visits AS visits,
    v.visit_pageviews AS visit_pageviews,
    v.duration_ms AS duration_ms,
    v.bounces AS bounces,
    h.pageviews AS pageviews,
    h.unique_visitors AS unique_visitors
FROM
(
    SELECT
        if({hourly:UInt8} = 1, toStartOfHour(toDateTime(start_local, 'UTC')), toStartOfDay(toDateTime(start_local, 'UTC'))) AS bucket,
        sum(sign) AS visits,
        sum(sign * pageviews) AS visit_pageviews,
        sum(sign * duration_ms) AS duration_ms,
        sum(sign * is_bounce) AS bounces
    FROM sessions
    WHERE site IN {sites:Array(String)}
      AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
      AND start_local < toDateTime64(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3, 'UTC')
      -- include: visit_filters
      -- when: event_filtered
      AND ({event_filtered:UInt8} = 0 OR session_id IN
      (
        SELECT session_id
        FROM pageviews
        WHERE {event_filtered:UInt8} = 1
          AND site IN {sites:Array(String)}
          AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date} + 1
          AND type = 'event'
          AND ({f_event_on:UInt8} = 0 OR name IN {f_event_in:Array(String)})
          AND name NOT IN {f_event_out:Array(String)}
          AND (empty({f_event_has:Array(String)})
               OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(name, {f_event_has:Array(String)}), 0))
      ))
      -- end when
      -- when: goal_filtered
      AND ({goal_filtered:UInt8} = 0 OR session_id IN
      (
        SELECT session_id
        FROM pageviews
        WHERE {goal_filtered:UInt8} = 1
          AND site IN {sites:Array(String)}
          AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date} + 1
        GROUP BY session_id
        HAVING ({g_on:UInt8} = 0 OR max(arrayExists(i -> site = {g_in_sites:Array(String)}[i] AND if({g_in_events:Array(String)}[i] = '',
                      type = 'pageview' AND match(path, {g_in_regex:Array(String)}[i]),
                      type = 'event' AND name = {g_in_events:Array(String)}[i]
                          AND ({g_in_prop_keys:Array(String)}[i] = ''
                               OR props[{g_in_prop_keys:Array(String)}[i]] = {g_in_prop_values:Array(String)}[i])),
                  arrayEnumerate({g_in_sites:Array(String)}))))
           AND NOT max(arrayExists(i -> site = {g_out_sites:Array(String)}[i] AND if({g_out_events:Array(String)}[i] = '',
                      type = 'pageview' AND match(path, {g_out_regex:Array(String)}[i]),
                      type = 'event' AND name = {g_out_events:Array(String)}[i]
                          AND ({g_out_prop_keys:Array(String)}[i] = ''
                               OR props[{g_out_prop_keys:Array(String)}[i]] = {g_out_prop_values:Array(String)}[i])),
                  arrayEnumerate({g_out_sites:Array(String)})))
      ))
      -- end when
      -- when: page_filtered
      AND ({page_filtered:UInt8} = 0 OR session_id IN
      (
        SELECT session_id
        FROM pageviews
        WHERE {page_filtered:UInt8} = 1
          AND site IN {sites:Array(String)}
          AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date} + 1
          AND type = 'pageview'
          AND ({f_page_on:UInt8} = 0 OR path IN {f_page_in:Array(String)})
          AND path NOT IN {f_page_out:Array(String)}
          AND (empty({f_page_has:Array(String)})
               OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(path, {f_page_has:Array(String)}), 0))
      ))
      -- end when
    GROUP BY bucket
) AS v
FULL OUTER JOIN
(
    SELECT
        if({hourly:UInt8} = 1, toStartOfHour(toDateTime(local_ts, 'UTC')), toStartOfDay(toDateTime(local_ts, 'UTC'))) AS bucket,
        countIf(type = 'pageview') AS pageviews,
        uniqCombined64(19)(visitor_id) AS unique_visitors
    FROM pageviews
    WHERE site IN {sites:Array(String)}
      AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
      AND local_ts < toDateTime64(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3, 'UTC')
      -- when: page_filtered
      AND ({page_filtered:UInt8} = 0 OR (type = 'pageview'
          AND ({f_page_on:UInt8} = 0 OR path IN {f_page_in:Array(String)})
          AND path NOT IN {f_page_out:Array(String)}
          AND (empty({f_page_has:Array(String)})
               OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(path, {f_page_has:Array(String)}), 0))
      ))
      -- end when
      -- when: visit_filtered
      AND ({visit_filtered:UInt8} = 0 OR session_id IN
      (
        SELECT session_id
        FROM sessions
        WHERE {visit_filtered:UInt8} = 1
          AND site IN {sites:Array(String)}
          AND toDate(start_local) BETWEEN {from:Date} - 1 AND {to:Date}
          -- include: visit_filters
          -- when: event_filtered
          AND ({event_filtered:UInt8} = 0 OR session_id IN
          (
            SELECT session_id
            FROM pageviews
            WHERE {event_filtered:UInt8} = 1
              AND site IN {sites:Array(String)}
              AND toDate(local_ts) BETWEEN {from:Date} - 1 AND {to:Date} + 1
              AND type = 'event'
              AND ({f_event_on:UInt8} = 0 OR name IN {f_event_in:Array(String)})
              AND name NOT IN {f_event_out:Array(String)}
              AND (empty({f_event_has:Array(String)})
                   OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(name, {f_event_has:Array(String)}), 0))
          ))
          -- end when
          -- when: goal_filtered
          AND ({goal_filtered:UInt8} = 0 OR session_id IN
          (
            SELECT session_id
            FROM pageviews
            WHERE {goal_filtered:UInt8} = 1
              AND site IN {sites:Array(String)}
              AND toDate(local_ts) BETWEEN {from:Date} - 1 AND {to:Date} + 1
            GROUP BY session_id
            HAVING ({g_on:UInt8} = 0 OR max(arrayExists(i -> site = {g_in_sites:Array(String)}[i] AND if({g_in_events:Array(String)}[i] = '',
                          type = 'pageview' AND match(path, {g_in_regex:Array(String)}[i]),
                          type = 'event' AND name = {g_in_events:Array(String)}[i]
                              AND ({g_in_prop_keys:Array(String)}[i] = ''
                                   OR props[{g_in_prop_keys:Array(String)}[i]] = {g_in_prop_values:Array(String)}[i])),
                      arrayEnumerate({g_in_sites:Array(String)}))))
               AND NOT max(arrayExists(i -> site = {g_out_sites:Array(String)}[i] AND if({g_out_events:Array(String)}[i] = '',
                          type = 'pageview' AND match(path, {g_out_regex:Array(String)}[i]),
                          type = 'event' AND name = {g_out_events:Array(String)}[i]
                              AND ({g_out_prop_keys:Array(String)}[i] = ''
                                   OR props[{g_out_prop_keys:Array(String)}[i]] = {g_out_prop_values:Array(String)}[i])),
                      arrayEnumerate({g_out_sites:Array(String)})))
          ))
          -- end when
        GROUP BY session_id
        HAVING sum(sign) > 0
      ))
      -- end when
    GROUP BY bucket
) AS h USING (bucket)
ORDER BY bucket
