-- 0085 api_tokens.role: what an agency token may do in its subtree (issue 18).
-- Why: units keep their own service lists and account lists current with their own account
-- (seed 001). 'viewer' reads the subtree (every token made before this migration, hence the
-- default); 'editor' also imports its sites' catalogs and account lists, edits their domains,
-- adds child agencies and sites and creates viewer tokens below it (api/guard.py Access.EDITOR).
ALTER TABLE {database}.api_tokens ADD COLUMN IF NOT EXISTS role LowCardinality(String) DEFAULT 'viewer';
