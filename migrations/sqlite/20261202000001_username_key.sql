-- Usernames are compared in one form that the server computes (db::UsernameKey), the same on
-- SQLite and PostgreSQL, instead of by each engine's collation (SQLite's NOCASE folds ASCII
-- only). Uniqueness, lookups and the audit log's filter use it.
ALTER TABLE users ADD COLUMN username_key TEXT;
UPDATE users SET username_key = lower(username);
CREATE UNIQUE INDEX users_username_key ON users (username_key);

ALTER TABLE auth_events ADD COLUMN username_key TEXT;
UPDATE auth_events SET username_key = lower(username);
DROP INDEX auth_events_username;
CREATE INDEX auth_events_username_key ON auth_events (username_key, id);
