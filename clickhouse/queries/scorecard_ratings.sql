-- scorecard_ratings: satisfaction ratings of the period (issue 16, provisional Decision
-- 766/QĐ-TTg scorecard, group "Mức độ hài lòng"), per score 1-5.
-- A rating is the tracker's emc("rating", {score, procedure}), which the collector validates
-- and stores as an event named rating:<score>:<procedure> (schemas/ratings.py); every rating
-- event counts (a citizen who rates twice counts twice).
-- Params: sites Array(String), from Date, to Date (inclusive local dates of each site).
-- Reads: pageviews (raw, FINAL: a hit stored twice under one event_id counts once; ratings are
--   few, and the local-date bounds keep the scan to the period's partitions of the sites).
SELECT
    toUInt8(splitByChar(':', name)[2]) AS score,
    count() AS ratings
FROM pageviews FINAL
WHERE site IN {sites:Array(String)}
  AND toDate(local_ts) BETWEEN {from:Date} AND {to:Date}
  AND type = 'event'
  AND startsWith(name, 'rating:')
  AND splitByChar(':', name)[2] IN ('1', '2', '3', '4', '5')
GROUP BY score
ORDER BY score
