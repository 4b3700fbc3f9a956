-- 0021 catalog and accounts: imported service catalogs (versions, default history) and
-- account lists, per site (api/xlsx_import.py reads the files, clickhouse/catalog.py and
-- clickhouse/accounts.py write them).
-- Why this shape: every catalog import is kept as a version (history, export, switching the
-- default back); an import writes its service rows first and its version row last, so a
-- failed import leaves only rows that no version or default points to (never half a
-- catalog). The default is a log of choices (catalog_defaults, the latest set_at wins), so the
-- history of defaults is kept too. A dossier's service level comes from its site's default
-- catalog by procedure code (= ID MCDT): view `catalog`. Account lists: the latest import of
-- a site is the current list (view `accounts_current`); times are the site's local time.
-- Every table has non_replicated_deduplication_window like all tables here (a retried insert
-- is dropped); each insert carries its own version, set_at or import_id, so two imports of the
-- same file are never mistaken for a retry.
CREATE TABLE IF NOT EXISTS {database}.catalog_versions
(
    site LowCardinality(String),
    version UInt32,
    imported_at DateTime64(3, 'UTC'),
    file_name String,
    rows UInt32,
    sha256 String
)
ENGINE = MergeTree
ORDER BY (site, version)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.catalog_services
(
    site LowCardinality(String),
    version UInt32,
    row UInt32,
    name String,
    level UInt8,
    url String,
    id_cdvcqg String,
    id_mcdt String
)
ENGINE = MergeTree
ORDER BY (site, version, id_mcdt)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.catalog_defaults
(
    site LowCardinality(String),
    version UInt32,
    set_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (site, set_at)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE VIEW IF NOT EXISTS {database}.catalog_default AS
SELECT site, argMax(version, d.set_at) AS version, max(d.set_at) AS last_set_at
FROM {database}.catalog_defaults AS d
GROUP BY site;

CREATE VIEW IF NOT EXISTS {database}.catalog AS
SELECT site, version, row, name, level, url, id_cdvcqg, id_mcdt
FROM {database}.catalog_services
WHERE (site, version) IN (SELECT site, version FROM {database}.catalog_default);

CREATE TABLE IF NOT EXISTS {database}.account_imports
(
    site LowCardinality(String),
    import_id UInt32,
    imported_at DateTime64(3, 'UTC'),
    file_name String,
    rows UInt32,
    sha256 String
)
ENGINE = MergeTree
ORDER BY (site, import_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.accounts
(
    site LowCardinality(String),
    import_id UInt32,
    row UInt32,
    id_local String,
    id_qg String,
    type UInt8,
    created_local Nullable(DateTime64(3, 'UTC')),
    last_login_local Nullable(DateTime64(3, 'UTC'))
)
ENGINE = MergeTree
ORDER BY (site, import_id, id_local)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE VIEW IF NOT EXISTS {database}.accounts_current AS
SELECT site, import_id, row, id_local, id_qg, type, created_local, last_login_local
FROM {database}.accounts
WHERE (site, import_id) IN
    (SELECT site, max(import_id) FROM {database}.account_imports GROUP BY site);
