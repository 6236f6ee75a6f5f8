-- A second factor: TOTP (RFC 6238) with single-use recovery codes.

-- At most one factor per user. The secret is stored sealed (XChaCha20-Poly1305) under a server
-- key derived from a signing key, named by key_id so the key can rotate.
CREATE TABLE totp_factors (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id     TEXT    NOT NULL,
    secret     BLOB    NOT NULL,                     -- nonce || ciphertext || tag
    created_at INTEGER NOT NULL,
    enabled_at INTEGER,                              -- NULL: set up, not confirmed yet
    last_step  INTEGER                               -- newest accepted time step: codes work once
) STRICT;

-- Ten per enrolment, shown once; only their SHA-256 is kept (they carry 80 random bits).
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- The second step of a login: an opaque, single-use challenge bound to the user who gave the
-- right password, valid five minutes, with a bounded number of code attempts.
CREATE TABLE mfa_challenges (
    challenge_hash BLOB    PRIMARY KEY,              -- SHA-256 of the challenge
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    used_at        INTEGER
) STRICT;
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

-- How the session's user authenticated (RFC 8176 values, space-separated); refresh keeps it.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
