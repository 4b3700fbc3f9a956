-- fragment visit_filters: the conditions of the visit-dimension filters (issue 17,
-- indicators/filters.py VISIT_DIMS) over the sessions columns, each line starting with AND, to
-- follow a WHERE of a query on sessions. Per dimension DIM: f_DIM_on UInt8 (1: an "is one of"
-- filter applies), f_DIM_in Array(String) (the values it allows), f_DIM_out Array(String)
-- (values excluded), f_DIM_has Array(String) (texts the value contains, case-insensitive).
-- Unused conditions are constants ClickHouse folds away. channel is the query-time channel
-- (fragment channel: 'internal' from the agency registry, params ch_*).
-- Each dimension's conditions sit in a `-- when:` block (clickhouse/named.py): sent only when
-- one of its filters is set, true for every visit otherwise.

-- when: f_country_on f_country_out f_country_has
AND ({f_country_on:UInt8} = 0 OR country IN {f_country_in:Array(String)})
AND country NOT IN {f_country_out:Array(String)}
AND (empty({f_country_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(country, {f_country_has:Array(String)}), 0))
-- end when
-- when: f_city_on f_city_out f_city_has
AND ({f_city_on:UInt8} = 0 OR city IN {f_city_in:Array(String)})
AND city NOT IN {f_city_out:Array(String)}
AND (empty({f_city_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(city, {f_city_has:Array(String)}), 0))
-- end when
-- when: f_device_on f_device_out f_device_has
AND ({f_device_on:UInt8} = 0 OR device IN {f_device_in:Array(String)})
AND device NOT IN {f_device_out:Array(String)}
AND (empty({f_device_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(device, {f_device_has:Array(String)}), 0))
-- end when
-- when: f_browser_on f_browser_out f_browser_has
AND ({f_browser_on:UInt8} = 0 OR browser IN {f_browser_in:Array(String)})
AND browser NOT IN {f_browser_out:Array(String)}
AND (empty({f_browser_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(browser, {f_browser_has:Array(String)}), 0))
-- end when
-- when: f_os_on f_os_out f_os_has
AND ({f_os_on:UInt8} = 0 OR os IN {f_os_in:Array(String)})
AND os NOT IN {f_os_out:Array(String)}
AND (empty({f_os_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(os, {f_os_has:Array(String)}), 0))
-- end when
-- when: f_referrer_on f_referrer_out f_referrer_has
AND ({f_referrer_on:UInt8} = 0 OR referrer_host IN {f_referrer_in:Array(String)})
AND referrer_host NOT IN {f_referrer_out:Array(String)}
AND (empty({f_referrer_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(referrer_host, {f_referrer_has:Array(String)}), 0))
-- end when
-- when: f_entry_page_on f_entry_page_out f_entry_page_has
AND ({f_entry_page_on:UInt8} = 0 OR entry_page IN {f_entry_page_in:Array(String)})
AND entry_page NOT IN {f_entry_page_out:Array(String)}
AND (empty({f_entry_page_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(entry_page, {f_entry_page_has:Array(String)}), 0))
-- end when
-- when: f_exit_page_on f_exit_page_out f_exit_page_has
AND ({f_exit_page_on:UInt8} = 0 OR exit_page IN {f_exit_page_in:Array(String)})
AND exit_page NOT IN {f_exit_page_out:Array(String)}
AND (empty({f_exit_page_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(exit_page, {f_exit_page_has:Array(String)}), 0))
-- end when
-- when: f_utm_source_on f_utm_source_out f_utm_source_has
AND ({f_utm_source_on:UInt8} = 0 OR utm_source IN {f_utm_source_in:Array(String)})
AND utm_source NOT IN {f_utm_source_out:Array(String)}
AND (empty({f_utm_source_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(utm_source, {f_utm_source_has:Array(String)}), 0))
-- end when
-- when: f_utm_medium_on f_utm_medium_out f_utm_medium_has
AND ({f_utm_medium_on:UInt8} = 0 OR utm_medium IN {f_utm_medium_in:Array(String)})
AND utm_medium NOT IN {f_utm_medium_out:Array(String)}
AND (empty({f_utm_medium_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(utm_medium, {f_utm_medium_has:Array(String)}), 0))
-- end when
-- when: f_utm_campaign_on f_utm_campaign_out f_utm_campaign_has
AND ({f_utm_campaign_on:UInt8} = 0 OR utm_campaign IN {f_utm_campaign_in:Array(String)})
AND utm_campaign NOT IN {f_utm_campaign_out:Array(String)}
AND (empty({f_utm_campaign_has:Array(String)})
     OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8(utm_campaign, {f_utm_campaign_has:Array(String)}), 0))
-- end when
-- when: f_channel_on f_channel_out f_channel_has
AND ({f_channel_on:UInt8} = 0 OR (
    -- include: channel
    ) IN {f_channel_in:Array(String)})
AND (empty({f_channel_out:Array(String)}) OR (
    -- include: channel
    ) NOT IN {f_channel_out:Array(String)})
AND (empty({f_channel_has:Array(String)}) OR NOT has(multiSearchAllPositionsCaseInsensitiveUTF8((
    -- include: channel
    ), {f_channel_has:Array(String)}), 0))
-- end when
