-- Login throttling counts failures per (username, client address), per client address, and per
-- username (a much higher ceiling, for guessing spread over many addresses), so failures from
-- one address cannot lock the account out for everyone else. `subject` is the lower-cased
-- username, the address, or `username|address`; `throttle_logged` makes a throttled window
-- leave one audit event instead of one per refused attempt.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    scope           TEXT    NOT NULL,                 -- 'user_ip' | 'ip' | 'user'
    subject         TEXT    NOT NULL,
    failures        INTEGER NOT NULL,
    window_start    INTEGER NOT NULL,                 -- unix seconds of the window's first failure
    throttle_logged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, subject)
) STRICT;
CREATE INDEX login_failures_window ON login_failures (window_start);

-- Retention deletes ended sessions (and with them their tokens) and old audit events in small
-- batches; these indexes let each batch find its rows without a scan.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_last_used_at ON sessions (last_used_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
