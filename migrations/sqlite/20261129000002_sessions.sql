-- Refresh tokens. One row per issued token; a login starts a family, every refresh adds a child
-- row (rotation). Only the SHA-256 of the token is stored: a database leak yields no usable token.
CREATE TABLE refresh_tokens (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,             -- SHA-256 of the 256-bit token
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id    TEXT    NOT NULL,                    -- shared by every rotation of one login
    parent_id    INTEGER REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,                    -- unix seconds
    last_used_at INTEGER NOT NULL,                    -- idle expiry counts from here
    expires_at   INTEGER NOT NULL,                    -- absolute expiry of the family; rotation copies it
    rotated_at   INTEGER,                             -- set when exchanged for a child token
    revoked_at   INTEGER,
    revoked_reason TEXT CHECK (revoked_reason IN ('logout', 'reuse_detected', 'admin'))
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Audit trail of authentication events. Never holds a password or a token.
CREATE TABLE auth_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,                      -- unix seconds
    kind       TEXT    NOT NULL CHECK (kind IN ('login_success', 'login_failure', 'login_throttled',
                                                'refresh', 'reuse_detected', 'logout')),
    username   TEXT,
    family_id  TEXT,
    ip         TEXT,
    user_agent TEXT
) STRICT;
CREATE INDEX auth_events_at ON auth_events (at);

-- Failed logins per username, for throttling. A row is the failures inside the current window.
CREATE TABLE login_failures (
    username     TEXT    PRIMARY KEY COLLATE NOCASE,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL                     -- unix seconds of the first failure
) STRICT;
