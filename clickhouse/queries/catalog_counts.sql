-- catalog_counts: services in the sites' default catalogs, all and per level (the
-- denominators of EMC II.9-II.12 and of the quarterly online-service numbers).
-- Params: sites Array(String).
-- Reads: the view catalog (each site's default catalog version).
SELECT
    count() AS services,
    countIf(level = 4) AS l4_services,
    countIf(level = 3) AS l3_services,
    countIf(level = 0) AS l0_services,
    uniqExact(site) AS sites_with_catalog
FROM catalog
WHERE site IN {sites:Array(String)}
