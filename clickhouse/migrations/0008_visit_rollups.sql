-- 0008 visits_hourly and visits_by_dim_daily: rollups of the sessions table.
-- Why: visit numbers belong to the local hour/date of the visit's first hit. Every session
-- snapshot row carries sign (+1 current, -1 retracted), so sum(sign * x) over the rows of a
-- visit is its latest value, and a retracted snapshot cancels itself in the rollup too.
-- SummingMergeTree with signed Int64 columns keeps those sums exact at any time (always
-- query with sum()). Dimensions: country, device, browser, os of the visit.
CREATE TABLE IF NOT EXISTS {database}.visits_hourly
(
    site LowCardinality(String),
    hour DateTime('UTC'),
    visits Int64,
    pageviews Int64,
    duration_ms Int64,
    bounces Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_hourly_mv
TO {database}.visits_hourly AS
SELECT
    site,
    toDateTime(toStartOfHour(start_local), 'UTC') AS hour,
    sum(toInt64(sign)) AS visits,
    sum(sign * toInt64(pageviews)) AS pageviews,
    sum(sign * toInt64(duration_ms)) AS duration_ms,
    sum(sign * toInt64(is_bounce)) AS bounces
FROM {database}.sessions
GROUP BY site, hour;

CREATE TABLE IF NOT EXISTS {database}.visits_by_dim_daily
(
    site LowCardinality(String),
    date Date,
    dim LowCardinality(String),
    key String,
    visits Int64,
    pageviews Int64,
    duration_ms Int64,
    bounces Int64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, dim, key)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.visits_by_dim_daily_mv
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
    ('country', toString(country)),
    ('device', toString(device)),
    ('browser', toString(browser)),
    ('os', toString(os))
] AS dim_key
GROUP BY site, date, dim, key;
