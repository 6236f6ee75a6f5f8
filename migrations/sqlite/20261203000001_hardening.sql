-- Sessions keep their refresh-token chain in their own row: the live token's hash, its
-- parent's (for the grace window), when and by which client it was rotated, and how many times.
-- A rotation is one UPDATE of this row; no row is added per refresh. Refresh tokens now name
-- their session (`<session id>.<secret>`); tokens issued before this migration are found by
-- their hash while `legacy` is set (until their first rotation).
ALTER TABLE sessions ADD COLUMN token_hash BLOB;
ALTER TABLE sessions ADD COLUMN parent_hash BLOB;
ALTER TABLE sessions ADD COLUMN rotated_at INTEGER;       -- when the parent was rotated
ALTER TABLE sessions ADD COLUMN rotated_by BLOB;          -- SHA-256 of the rotating client (address, user agent)
ALTER TABLE sessions ADD COLUMN refresh_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;        -- the last authentication: login or re-authentication
ALTER TABLE sessions ADD COLUMN legacy INTEGER NOT NULL DEFAULT 0;

UPDATE sessions SET
    token_hash = (SELECT t.token_hash FROM refresh_tokens t
                  WHERE t.session_id = sessions.id AND t.rotated_at IS NULL),
    parent_hash = (SELECT p.token_hash FROM refresh_tokens t JOIN refresh_tokens p ON p.id = t.parent_id
                   WHERE t.session_id = sessions.id AND t.rotated_at IS NULL),
    rotated_at = (SELECT p.rotated_at FROM refresh_tokens t JOIN refresh_tokens p ON p.id = t.parent_id
                  WHERE t.session_id = sessions.id AND t.rotated_at IS NULL),
    refresh_count = (SELECT COUNT(*) - 1 FROM refresh_tokens t WHERE t.session_id = sessions.id),
    auth_time = created_at,
    legacy = 1;
DROP TABLE refresh_tokens;
CREATE UNIQUE INDEX sessions_legacy_token ON sessions (token_hash) WHERE legacy = TRUE;

-- A per-user epoch that every change ending the user's sessions bumps (lock, role, password,
-- second factor, "log out everywhere", an administrator's "end sessions"). A login starts its
-- session only if the epoch is still the one it read with the password, in the same
-- transaction, so no login in flight outlives such a change; a second-step challenge remembers
-- the epoch of its password step.
ALTER TABLE users ADD COLUMN security_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mfa_challenges ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

-- Revocations get a sequence number that only grows (AUTOINCREMENT never reuses one, even
-- after retention deleted the newest row), so a process that polls for "after the last one I
-- saw" misses none, whenever its transaction committed.
CREATE TABLE session_revocations_v2 (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT    NOT NULL UNIQUE,
    revoked_at INTEGER NOT NULL
) STRICT;
INSERT INTO session_revocations_v2 (session_id, revoked_at)
SELECT session_id, revoked_at FROM session_revocations ORDER BY revoked_at;
DROP TABLE session_revocations;
ALTER TABLE session_revocations_v2 RENAME TO session_revocations;
CREATE INDEX session_revocations_at ON session_revocations (revoked_at);

-- Facts about the data that a start-up step may have to act on once (e.g. which canonical form
-- `users.username_key` holds).
CREATE TABLE schema_facts (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
