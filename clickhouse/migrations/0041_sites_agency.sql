-- 0041 sites: the owning agency, the managing parent site and the Matomo idsite.
-- Why: 0002 is applied and never edited; the registry tree adds columns. agency_id '' means
-- "not yet placed in the tree" (only the admin token sees such a site); matomo_id 0 = none.
ALTER TABLE {database}.sites ADD COLUMN IF NOT EXISTS agency_id String DEFAULT '';
ALTER TABLE {database}.sites ADD COLUMN IF NOT EXISTS parent_site String DEFAULT '';
ALTER TABLE {database}.sites ADD COLUMN IF NOT EXISTS matomo_id UInt32 DEFAULT 0;
