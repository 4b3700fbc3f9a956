-- events_breakdown: the events report and its siblings (issue 17 item 3), by each hit's own
-- local date (like pageviews): per key, hits, visits with such a hit, unique visitors, the sum
-- of the events' values (NULL when none has one) and, for titles, the page's latest title.
-- total_hits is the sum over every key (before LIMIT) for shares.
-- kind decides the hits and the key:
--   event    — custom events (type 'event', not an outbound link or a download), by name;
--   property — the events named {event:String} that carry the property {property:String}, by
--              the property's value;
--   outbound — outbound-link clicks (events named 'outbound:URL'), by URL;
--   download — downloads (events named 'download:URL'), by URL or path;
--   search   — site searches: pageviews with a search term, the Matomo 'search' property or
--              else the first non-empty of the URL query parameters {search_params} (decoded,
--              trimmed, lower-cased so 'Hộ chiếu ' and 'hộ chiếu' count together), by term;
--   title    — pageviews by path, with the latest non-empty title seen for it.
-- Params: sites Array(String), from Date, to Date, ends Array(Int64), kind String, event
--   String, property String (both '' unless kind = property), search_params Array(String),
--   keys Array(String) (only these keys; empty = all), limit UInt32.
-- ends Array(Int64), aligned with sites: the exclusive local end of each site (issue 16 cut) as
--   epoch seconds of the local wall-clock time read as UTC; far in the future when not cut.
-- Reads: pageviews (raw), bounded by (site, local date): no rollup keeps names, properties or
--   URLs of events; visits and visitors are uniqCombined64(19) as in the page breakdown (exact
--   up to 16,384).
SELECT
    key,
    count() AS hits,
    uniqCombined64(19)(session_id) AS visits,
    uniqCombined64(19)(visitor_id) AS unique_visitors,
    sum(value) AS value_sum,
    argMaxIf(name, ts, name != '') AS title,
    sum(hits) OVER () AS total_hits
FROM
(
    SELECT
        multiIf(
            {kind:String} = 'event', name,
            {kind:String} = 'property', props[{property:String}],
            {kind:String} IN ('outbound', 'download'), substring(name, 10),
            {kind:String} = 'search', lowerUTF8(trimBoth(if(
                props['search'] != '',
                props['search'],
                arrayFirst(t -> t != '', arrayMap(
                    p -> decodeURLFormComponent(substring(
                        arrayFirst(kv -> startsWith(kv, concat(p, '=')), extractURLParameters(url)),
                        length(p) + 2)),
                    {search_params:Array(String)}))))),
            path) AS key,
        name,
        ts,
        value,
        session_id,
        visitor_id
    FROM pageviews
    WHERE site IN {sites:Array(String)}
      AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
      AND local_ts < toDateTime64(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3, 'UTC')
      AND multiIf(
          {kind:String} = 'event',
              type = 'event' AND NOT startsWith(name, 'outbound:') AND NOT startsWith(name, 'download:'),
          {kind:String} = 'property',
              type = 'event' AND name = {event:String} AND mapContains(props, {property:String}),
          {kind:String} = 'outbound', type = 'event' AND startsWith(name, 'outbound:'),
          {kind:String} = 'download', type = 'event' AND startsWith(name, 'download:'),
          type = 'pageview')
)
WHERE ({kind:String} != 'search' OR key != '')
  AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, key))
GROUP BY key
ORDER BY hits DESC, key
LIMIT {limit:UInt32}
