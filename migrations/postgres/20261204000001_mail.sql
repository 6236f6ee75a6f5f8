-- Accounts people open and recover themselves (see auth::signup, auth::recovery).
--
-- An optional address per account, unique in its canonical form (trimmed, lower case), and when
-- it was proven to be the user's. NULL keys are distinct, so accounts without one do not clash.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- Single-use links sent by mail (verification, password reset, invitation, a new address).
-- Only a hash of the token is kept; `id` is the public handle an admin sees.
CREATE TABLE mail_links (
    token_hash BYTEA   PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    purpose    TEXT    NOT NULL,
    user_id    BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    role       TEXT,
    created_by TEXT,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX mail_links_user ON mail_links (user_id, purpose);
CREATE INDEX mail_links_pending ON mail_links (purpose, expires_at) WHERE used_at IS NULL;

-- The outbox: a mail is a row written in the same transaction as what it tells, delivered by a
-- worker that claims rows (state 'sending' with a lease), so a mail server that is down loses
-- nothing and several instances never send one mail twice. `sealed` (what the mail says,
-- links included) is encrypted under the signing keys and dropped once the mail is sent.
CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    sealed          BYTEA,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);

-- A short, non-secret word saying more about an event (which notice was sent, which link).
ALTER TABLE auth_events ADD COLUMN detail TEXT;
