-- connections_hourly: for each site, the UTC hours (of receipt) that brought any event in the
-- window, and the last receipt time ever. Receipt time, not event time: a backfill of old
-- hits arriving now proves the connection works now; old event times would not.
-- Params: sites Array(String), since DateTime64 (start of the window, UTC).
-- Reads: pageviews, bot_hits, dossier_events (raw; bots prove a connection too). The window
-- filter uses the tables' sort keys only by site, so this scans the window's received_ts.
SELECT
    key,
    groupUniqArrayIf(toStartOfHour(received_ts), received_ts >= {since:DateTime64(3, 'UTC')}) AS hours,
    max(received_ts) AS last_event
FROM
(
    SELECT toString(site) AS key, received_ts FROM pageviews WHERE site IN {sites:Array(String)}
    UNION ALL
    SELECT toString(site) AS key, received_ts FROM bot_hits WHERE site IN {sites:Array(String)}
    UNION ALL
    SELECT toString(site) AS key, received_ts FROM dossier_events
    WHERE site IN {sites:Array(String)}
)
GROUP BY key
ORDER BY key
