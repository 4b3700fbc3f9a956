-- 0042 api_tokens: agency-scoped API tokens, stored as SHA-256 hashes only.
-- Why: a province's analysts get a token that sees their subtree and nothing else; the token
-- itself is shown once at creation and never stored. Revocation is a newer row (revoked = 1).
CREATE TABLE IF NOT EXISTS {database}.api_tokens
(
    id String,
    agency_id String,
    name String DEFAULT '',
    token_hash String,
    created_at DateTime64(3, 'UTC'),
    revoked UInt8 DEFAULT 0,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;
