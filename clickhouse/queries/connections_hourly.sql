-- connections_hourly: for each site, the UTC hours (of receipt) that brought any event in the
-- window, and the last receipt time ever. Receipt time, not event time: a backfill of old
-- hits arriving now proves the connection works now; old event times would not.
-- Params: sites Array(String), since DateTime64 (start of the window, UTC).
-- Reads: site_receipts_hourly (rollup of pageviews, bot_hits and dossier_events by hour of
-- receipt; at most 24 rows per site and day), never the raw tables.
SELECT
    toString(site) AS key,
    groupUniqArrayIf(hour, hour >= toStartOfHour({since:DateTime64(3, 'UTC')})) AS hours,
    max(last_received) AS last_event
FROM site_receipts_hourly
WHERE site IN {sites:Array(String)}
GROUP BY key
ORDER BY key
