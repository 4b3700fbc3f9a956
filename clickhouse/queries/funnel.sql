-- funnel: how many visits went through ordered steps (issue 17 item 4), by ClickHouse's
-- windowFunnel over each visit's hits: level = the longest prefix of the steps the visit did
-- in order (other hits between steps allowed; a step done before the one it follows does not
-- count, so a visit that submits, then starts, then opens the procedure page reaches step 1
-- only). One row per level reached (1 … number of steps); visits that never did step 1 are
-- left out. The caller turns "visits at exactly level k" into "visits reaching step k".
-- Visit numbers belong to the local date of the visit's first hit, with all its hits, so a
-- visit crossing midnight counts whole on the day it started.
-- Params: sites Array(String), from Date, to Date, ends Array(Int64), step_regex
--   Array(String), step_events Array(String), step_prop_keys Array(String), step_prop_values
--   Array(String): exactly 8 steps, aligned; a page step has its anchored RE2 path pattern in
--   step_regex and '' in step_events, an event step '' in step_regex and its name in
--   step_events (with an optional property condition); unused steps have both '' and match
--   nothing (windowFunnel takes a fixed list of conditions).
-- ends Array(Int64), aligned with sites: the exclusive local end of each site (issue 16 cut) as
--   epoch seconds of the local wall-clock time read as UTC; far in the future when not cut.
-- Reads: sessions (raw: visits started in the period, signed sums) and pageviews (raw: their
--   hits, up to a day after the period); the window is 24 h, a visit's longest life.
WITH visits AS
(
    SELECT session_id
    FROM sessions
    WHERE site IN {sites:Array(String)}
      AND toDate(start_local) BETWEEN {from:Date} AND {to:Date}
      AND start_local < toDateTime64(arrayElement({ends:Array(Int64)}, indexOf({sites:Array(String)}, toString(site))), 3, 'UTC')
    GROUP BY session_id
    HAVING sum(sign) > 0
)
SELECT level, count() AS visits
FROM
(
    SELECT
        session_id,
        windowFunnel(86400000)(
            toUInt64(toUnixTimestamp64Milli(ts)),
            {step_events:Array(String)}[1] = '' AND {step_regex:Array(String)}[1] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[1])
                OR {step_events:Array(String)}[1] != '' AND type = 'event' AND name = {step_events:Array(String)}[1] AND ({step_prop_keys:Array(String)}[1] = '' OR props[{step_prop_keys:Array(String)}[1]] = {step_prop_values:Array(String)}[1]),
            {step_events:Array(String)}[2] = '' AND {step_regex:Array(String)}[2] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[2])
                OR {step_events:Array(String)}[2] != '' AND type = 'event' AND name = {step_events:Array(String)}[2] AND ({step_prop_keys:Array(String)}[2] = '' OR props[{step_prop_keys:Array(String)}[2]] = {step_prop_values:Array(String)}[2]),
            {step_events:Array(String)}[3] = '' AND {step_regex:Array(String)}[3] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[3])
                OR {step_events:Array(String)}[3] != '' AND type = 'event' AND name = {step_events:Array(String)}[3] AND ({step_prop_keys:Array(String)}[3] = '' OR props[{step_prop_keys:Array(String)}[3]] = {step_prop_values:Array(String)}[3]),
            {step_events:Array(String)}[4] = '' AND {step_regex:Array(String)}[4] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[4])
                OR {step_events:Array(String)}[4] != '' AND type = 'event' AND name = {step_events:Array(String)}[4] AND ({step_prop_keys:Array(String)}[4] = '' OR props[{step_prop_keys:Array(String)}[4]] = {step_prop_values:Array(String)}[4]),
            {step_events:Array(String)}[5] = '' AND {step_regex:Array(String)}[5] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[5])
                OR {step_events:Array(String)}[5] != '' AND type = 'event' AND name = {step_events:Array(String)}[5] AND ({step_prop_keys:Array(String)}[5] = '' OR props[{step_prop_keys:Array(String)}[5]] = {step_prop_values:Array(String)}[5]),
            {step_events:Array(String)}[6] = '' AND {step_regex:Array(String)}[6] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[6])
                OR {step_events:Array(String)}[6] != '' AND type = 'event' AND name = {step_events:Array(String)}[6] AND ({step_prop_keys:Array(String)}[6] = '' OR props[{step_prop_keys:Array(String)}[6]] = {step_prop_values:Array(String)}[6]),
            {step_events:Array(String)}[7] = '' AND {step_regex:Array(String)}[7] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[7])
                OR {step_events:Array(String)}[7] != '' AND type = 'event' AND name = {step_events:Array(String)}[7] AND ({step_prop_keys:Array(String)}[7] = '' OR props[{step_prop_keys:Array(String)}[7]] = {step_prop_values:Array(String)}[7]),
            {step_events:Array(String)}[8] = '' AND {step_regex:Array(String)}[8] != '' AND type = 'pageview' AND match(path, {step_regex:Array(String)}[8])
                OR {step_events:Array(String)}[8] != '' AND type = 'event' AND name = {step_events:Array(String)}[8] AND ({step_prop_keys:Array(String)}[8] = '' OR props[{step_prop_keys:Array(String)}[8]] = {step_prop_values:Array(String)}[8])
        ) AS level
    FROM pageviews
    WHERE site IN {sites:Array(String)}
      AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date} + 1
      AND type IN ('pageview', 'event')
      AND session_id IN (SELECT session_id FROM visits)
    GROUP BY session_id
)
WHERE level > 0
GROUP BY level
ORDER BY level
