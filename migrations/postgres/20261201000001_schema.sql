-- The PostgreSQL schema: the same tables as the SQLite migrations arrive at, in one step.
-- Times are Unix seconds (BIGINT) as everywhere in jwt-auth; enumerations are TEXT (the Rust
-- enums are the one list of their values).

-- Accounts. Passwords only as argon2id PHC strings; usernames unique case-insensitively.
CREATE TABLE users (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    created_at    BIGINT  NOT NULL,
    is_demo       BOOLEAN NOT NULL DEFAULT FALSE,    -- production refuses to start with one
    locked_at     BIGINT,                            -- NULL: active
    last_login_at BIGINT
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

-- One row per session (a login's chain of refresh tokens).
CREATE TABLE sessions (
    id             TEXT    PRIMARY KEY,              -- the access token's `sid`
    user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,                 -- absolute; rotation never moves it
    last_used_at   BIGINT  NOT NULL,                 -- idle expiry counts from here
    ip             TEXT,
    last_ip        TEXT,
    user_agent     TEXT,
    revoked_at     BIGINT,
    revoked_reason TEXT,
    amr            TEXT    NOT NULL DEFAULT 'pwd'    -- RFC 8176 values, space-separated
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_last_used_at ON sessions (last_used_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Refresh tokens: only their SHA-256; a child is derived from its parent (one live per session).
CREATE TABLE refresh_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash BYTEA  NOT NULL UNIQUE,
    session_id TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_id  BIGINT,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Every revocation, for the access-token revocation sets of all instances. Each insert is
-- announced on the channel `jwt_auth_revocations` ("<session id> <revoked at>"), so instances
-- learn of it at once; they also reload recent rows after reconnecting.
CREATE TABLE session_revocations (
    session_id TEXT   PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX session_revocations_at ON session_revocations (revoked_at);

CREATE FUNCTION jwt_auth_notify_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jwt_auth_revocations', NEW.session_id || ' ' || NEW.revoked_at);
    RETURN NEW;
END
$$;
CREATE TRIGGER session_revocations_notify AFTER INSERT ON session_revocations
    FOR EACH ROW EXECUTE FUNCTION jwt_auth_notify_revocation();

-- The audit log. Never a password or a token.
CREATE TABLE auth_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    username   TEXT,
    family_id  TEXT,
    ip         TEXT,
    user_agent TEXT,
    actor      TEXT
);
CREATE INDEX auth_events_at ON auth_events (at);
CREATE INDEX auth_events_username ON auth_events (lower(username), id);
CREATE INDEX auth_events_kind ON auth_events (kind, id);

-- Login failure counters per (username, address), address and username.
CREATE TABLE login_failures (
    scope           TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    failures        BIGINT  NOT NULL,
    window_start    BIGINT  NOT NULL,
    throttle_logged BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX login_failures_window ON login_failures (window_start);

-- TOTP: the sealed secret, recovery codes (hashes), and login challenges (hashes).
CREATE TABLE totp_factors (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id     TEXT   NOT NULL,
    secret     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT,
    last_step  BIGINT
);
CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA  NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE mfa_challenges (
    challenge_hash BYTEA  PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    used_at        BIGINT
);
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
