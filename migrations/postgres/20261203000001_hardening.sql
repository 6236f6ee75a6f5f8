-- Sessions keep their refresh-token chain in their own row (see the SQLite migration of the
-- same name): a rotation is one UPDATE; no row is added per refresh.
ALTER TABLE sessions ADD COLUMN token_hash BYTEA;
ALTER TABLE sessions ADD COLUMN parent_hash BYTEA;
ALTER TABLE sessions ADD COLUMN rotated_at BIGINT;
ALTER TABLE sessions ADD COLUMN rotated_by BYTEA;
ALTER TABLE sessions ADD COLUMN refresh_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN auth_time BIGINT;
ALTER TABLE sessions ADD COLUMN legacy BOOLEAN NOT NULL DEFAULT FALSE;

UPDATE sessions s SET
    token_hash = t.token_hash,
    parent_hash = p.token_hash,
    rotated_at = p.rotated_at,
    refresh_count = (SELECT COUNT(*) - 1 FROM refresh_tokens c WHERE c.session_id = s.id),
    auth_time = s.created_at,
    legacy = TRUE
FROM refresh_tokens t LEFT JOIN refresh_tokens p ON p.id = t.parent_id
WHERE t.session_id = s.id AND t.rotated_at IS NULL;
UPDATE sessions SET auth_time = created_at WHERE auth_time IS NULL;
DROP TABLE refresh_tokens;
CREATE UNIQUE INDEX sessions_legacy_token ON sessions (token_hash) WHERE legacy = TRUE;

-- The per-user security epoch (see the SQLite migration).
ALTER TABLE users ADD COLUMN security_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mfa_challenges ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;

-- Revocations get a sequence number for polling.
ALTER TABLE session_revocations ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX session_revocations_seq ON session_revocations (seq);

-- Facts about the data that a start-up step may have to act on once.
CREATE TABLE schema_facts (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
