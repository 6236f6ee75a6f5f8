-- A row per session (one login's family of rotating refresh tokens), so that a session can be
-- listed, revoked in one write, and named in access tokens (`sid`). Revocation moves from every
-- token row to the session row; tokens keep only what rotation needs.
CREATE TABLE sessions (
    id             TEXT    PRIMARY KEY,                -- the family id; the access token's `sid`
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,                   -- unix seconds (login)
    expires_at     INTEGER NOT NULL,                   -- absolute end; rotation never moves it
    last_used_at   INTEGER NOT NULL,                   -- idle expiry counts from here
    ip             TEXT,                               -- client address at login
    last_ip        TEXT,                               -- client address at the latest refresh
    user_agent     TEXT,                               -- at login, truncated
    revoked_at     INTEGER,
    revoked_reason TEXT                                -- model::RevokeReason
) STRICT;

INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, revoked_at, revoked_reason)
SELECT family_id, MIN(user_id), MIN(created_at), MAX(expires_at), MAX(last_used_at),
       MAX(revoked_at), MAX(revoked_reason)
FROM refresh_tokens GROUP BY family_id;

-- Only the SHA-256 of a token is stored. A child token is derived from its parent with a server
-- key (HMAC), so a retried or concurrent refresh of the same parent gets the same child and a
-- session never has more than one live token.
CREATE TABLE refresh_tokens_v2 (
    id         INTEGER PRIMARY KEY,
    token_hash BLOB    NOT NULL UNIQUE,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_id  INTEGER,                                -- the token it replaced (for forensics)
    created_at INTEGER NOT NULL,
    rotated_at INTEGER                                 -- set when exchanged for its child
) STRICT;
INSERT INTO refresh_tokens_v2 (id, token_hash, session_id, parent_id, created_at, rotated_at)
SELECT id, token_hash, family_id, parent_id, created_at, rotated_at FROM refresh_tokens;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_v2 RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE INDEX sessions_user ON sessions (user_id);

-- Every revocation, also of sessions whose rows are gone (a removed user's): each server keeps
-- the recent ones in memory and refuses access tokens of those sessions at once. Servers that
-- share the database poll this table; rows older than an access token's lifetime are pruned.
CREATE TABLE session_revocations (
    session_id TEXT    PRIMARY KEY,
    revoked_at INTEGER NOT NULL
) STRICT;
CREATE INDEX session_revocations_at ON session_revocations (revoked_at);
INSERT INTO session_revocations (session_id, revoked_at)
SELECT id, revoked_at FROM sessions WHERE revoked_at IS NOT NULL;

-- Demo accounts are marked, so a production start can refuse while one exists.
ALTER TABLE users ADD COLUMN is_demo INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1));

-- The audit log loses its CHECK on `kind` (model::EventKind is the one list, and SQLite cannot
-- change a CHECK without rebuilding the table) and gains the acting user for admin actions.
CREATE TABLE auth_events_v2 (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,                      -- unix seconds
    kind       TEXT    NOT NULL,                      -- model::EventKind
    username   TEXT,
    family_id  TEXT,                                  -- the session, if any
    ip         TEXT,
    user_agent TEXT,
    actor      TEXT                                   -- who did it, when not the user
) STRICT;
INSERT INTO auth_events_v2 (id, at, kind, username, family_id, ip, user_agent)
SELECT id, at, kind, username, family_id, ip, user_agent FROM auth_events;
DROP TABLE auth_events;
ALTER TABLE auth_events_v2 RENAME TO auth_events;
CREATE INDEX auth_events_at ON auth_events (at);
