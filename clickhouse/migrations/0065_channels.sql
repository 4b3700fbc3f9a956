-- 0065 channels and campaigns of a visit (issue 17 item 2): session columns and rollup keys.
-- Why: a visit's campaign (utm_source|medium|campaign|term|content of its landing URL, Matomo's
-- mtm_*/pk_*/_rcn/_rck too) and its channel (core/channels.py, the rules in
-- core/channels.toml) are decided once by the sessionizer from the visit's first hit and kept on
-- its row, like the entry page. Rows written before this migration read '' (campaign) and ''
-- (channel unknown, not re-derived: the landing URL's query is not kept on the sessions row).
-- "internal" (a referral from another site of the same agency tree) is NOT stored: the tree
-- changes, so queries decide it from the registry (README "Channels"); that is why the
-- rollup's channel key of a referral keeps its referrer host: 'referral:HOST'.
-- The 0008 rollup visits_by_dim_daily gets a third view for the dims channel, utm_source,
-- utm_medium and utm_campaign (same signed sums as 0008/0012), backfilled from sessions below
-- (once: only when the rollup holds none of these dims) before the view starts, so the visits
-- stored before count under the key '' (unknown) in the rollup as in the raw table; apply with
-- the sink stopped or rebuild the minutes the backfill took (`emc rebuild`).
ALTER TABLE {database}.sessions
    ADD COLUMN IF NOT EXISTS utm_source LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_medium LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_campaign String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_term String DEFAULT '',
    ADD COLUMN IF NOT EXISTS utm_content String DEFAULT '',
    ADD COLUMN IF NOT EXISTS channel LowCardinality(String) DEFAULT '';

INSERT INTO {database}.visits_by_dim_daily
    (site, date, dim, key, visits, pageviews, duration_ms, bounces)
SELECT
    site,
    toDate(start_local) AS date,
    dim_key.1 AS dim,
    dim_key.2 AS key,
    sum(toInt64(sign)) AS visits,
    sum(sign * toInt64(pageviews)) AS pageviews,
    sum(sign * toInt64(duration_ms)) AS duration_ms,
    sum(sign * toInt64(is_bounce)) AS bounces
FROM {database}.sessions
ARRAY JOIN [
    ('channel', if(channel = 'referral', concat('referral:', toString(referrer_host)), toString(channel))),
    ('utm_source', toString(utm_source)),
    ('utm_medium', toString(utm_medium)),
    ('utm_campaign', utm_campaign)
] AS dim_key
WHERE (
    SELECT count() FROM {database}.visits_by_dim_daily
    WHERE dim IN ('channel', 'utm_source', 'utm_medium', 'utm_campaign')
) = 0
GROUP BY site, date, dim, key
SETTINGS optimize_aggregation_in_order = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_by_dim_daily_channel_mv
TO {database}.visits_by_dim_daily AS
SELECT
    site,
    toDate(start_local) AS date,
    dim_key.1 AS dim,
    dim_key.2 AS key,
    sum(toInt64(sign)) AS visits,
    sum(sign * toInt64(pageviews)) AS pageviews,
    sum(sign * toInt64(duration_ms)) AS duration_ms,
    sum(sign * toInt64(is_bounce)) AS bounces
FROM {database}.sessions
ARRAY JOIN [
    ('channel', if(channel = 'referral', concat('referral:', toString(referrer_host)), toString(channel))),
    ('utm_source', toString(utm_source)),
    ('utm_medium', toString(utm_medium)),
    ('utm_campaign', utm_campaign)
] AS dim_key
GROUP BY site, date, dim, key;
