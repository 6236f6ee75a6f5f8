-- Accounts that can log in. Passwords are stored only as argon2id PHC strings
-- ($argon2id$v=19$m=19456,t=2,p=1$...), never in clear text.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    created_at    INTEGER NOT NULL -- unix seconds
) STRICT;
