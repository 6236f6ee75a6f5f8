-- Accounts can be locked by an administrator (a locked account cannot log in or refresh), and
-- remember their last login, for the admin area.
ALTER TABLE users ADD COLUMN locked_at INTEGER;      -- unix seconds; NULL: active
ALTER TABLE users ADD COLUMN last_login_at INTEGER;  -- unix seconds of the last successful login

-- The admin audit log pages newest first by id, optionally filtered by user or kind.
CREATE INDEX auth_events_username ON auth_events (username, id);
CREATE INDEX auth_events_kind ON auth_events (kind, id);
