-- portal_overview: the headline numbers of one or several sites over inclusive local dates.
-- Params: sites Array(String), from Date, to Date.
-- Reads:
--   visits_hourly (rollup of sessions, by the local hour of each visit's first hit): visits,
--     pageviews of those visits, total duration and bounces — visit numbers belong to the
--     visit's start, so a visit straddling midnight or the period's end counts where it starts;
--   hits_hourly (rollup of pageviews, by each hit's local hour): pageviews;
--   pageviews (raw): unique visitors = uniqExact(visitor_id) with a hit in the period. Distinct
--     counts over a range cannot be added from daily numbers, and the rollup's uniq states are
--     approximate; the raw table's primary key (site, local date) keeps this scan to the
--     selected sites and days. Several sites = one distinct count over their union.
SELECT
    v.visits AS visits,
    v.visit_pageviews AS visit_pageviews,
    v.duration_ms AS duration_ms,
    v.bounces AS bounces,
    h.pageviews AS pageviews,
    u.unique_visitors AS unique_visitors
FROM
(
    SELECT
        sum(visits) AS visits,
        sum(pageviews) AS visit_pageviews,
        sum(duration_ms) AS duration_ms,
        sum(bounces) AS bounces
    FROM visits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
) AS v
CROSS JOIN
(
    SELECT sum(pageviews) AS pageviews
    FROM hits_hourly
    WHERE site IN {sites:Array(String)}
      AND hour >= toDateTime({from:Date}, 'UTC')
      AND hour < toDateTime({to:Date} + 1, 'UTC')
) AS h
CROSS JOIN
(
    SELECT uniqExact(visitor_id) AS unique_visitors
    FROM pageviews
    WHERE site IN {sites:Array(String)}
      AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
) AS u
