//! Login-failure counters: per (username, address), per address, and per username, each in a
//! fixed window from its first failure.

use super::audit::{record, NewEvent};
use super::engine::{retry, stmt, Backend, Engine};
use super::{DbError, UsernameKey};

/// What a counter counts failures of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text")]
pub enum ThrottleScope {
    /// One username from one address.
    #[sqlx(rename = "user_ip")]
    UserAddress,
    /// One address, any usernames.
    #[sqlx(rename = "ip")]
    Address,
    /// One username, any addresses (the ceiling).
    #[sqlx(rename = "user")]
    User,
}

impl ThrottleScope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserAddress => "user_ip",
            Self::Address => "ip",
            Self::User => "user",
        }
    }
}

/// What a login attempt's failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKeys {
    pub user: UsernameKey,
    /// The client address (an IPv6 client's /64), or `unknown`.
    pub ip: String,
}

impl ThrottleKeys {
    /// The `(scope, subject)` of each counter, in the order of [`LoginCounts`].
    pub fn subjects(&self) -> [(ThrottleScope, String); 3] {
        let user = self.user.as_str();
        [
            (ThrottleScope::UserAddress, format!("{user}|{}", self.ip)),
            (ThrottleScope::Address, self.ip.clone()),
            (ThrottleScope::User, user.to_owned()),
        ]
    }
}

/// How long each kind of counter's window lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleWindows {
    /// For the (username, address) and address counters.
    pub address_secs: i64,
    /// For the per-username ceiling.
    pub user_secs: i64,
}

/// One failure counter in its current window (zero when the window has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub failures: i64,
    /// When the window started (Unix seconds).
    pub window_start: i64,
}

/// The three counters of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginCounts {
    pub user_ip: Counter,
    pub ip: Counter,
    pub user: Counter,
}

/// The failure counters.
#[async_trait::async_trait]
pub trait ThrottleStore: Send + Sync {
    /// The current failure counts of a login attempt. Read-only.
    async fn login_counts(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError>;

    /// Counts an attempt against all three counters at once, before its password is checked
    /// (a window that has passed starts again at 1), and returns the new counts.
    async fn reserve_login_attempt(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError>;

    /// Takes a reserved attempt back: it was not a failure (the password was right, or it was
    /// never checked). `forget_pair` also clears the (username, address) counter.
    async fn release_login_attempt(
        &self,
        keys: &ThrottleKeys,
        forget_pair: bool,
    ) -> Result<(), DbError>;

    /// Records `event` if this (username, address) window has not recorded a throttled attempt
    /// yet. Returns whether it did.
    async fn note_login_throttled(
        &self,
        keys: &ThrottleKeys,
        now: i64,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;
}

/// How long a counter of `scope` counts.
pub fn window_of(scope: ThrottleScope, windows: ThrottleWindows) -> i64 {
    match scope {
        ThrottleScope::User => windows.user_secs,
        ThrottleScope::UserAddress | ThrottleScope::Address => windows.address_secs,
    }
}

/// The counters of a login attempt from the rows found, as of `now`: a counter whose window has
/// passed counts as zero.
pub fn counts_from(
    rows: Vec<(ThrottleScope, i64, i64)>,
    windows: ThrottleWindows,
    now: i64,
) -> LoginCounts {
    let mut counts = LoginCounts::default();
    for (scope, failures, window_start) in rows {
        if now - window_start >= window_of(scope, windows) {
            continue;
        }
        let counter = Counter {
            failures,
            window_start,
        };
        match scope {
            ThrottleScope::UserAddress => counts.user_ip = counter,
            ThrottleScope::Address => counts.ip = counter,
            ThrottleScope::User => counts.user = counter,
        }
    }
    counts
}

const COUNTS: &str = "SELECT scope, failures, window_start FROM login_failures
     WHERE (scope, subject) IN (($1, $2), ($3, $4), ($5, $6))";

/// A window that has passed starts again (and may record a throttled attempt again).
const RESERVE: &str =
    "INSERT INTO login_failures AS f (scope, subject, failures, window_start)
     VALUES ($1, $2, 1, $7), ($3, $4, 1, $7), ($5, $6, 1, $7)
     ON CONFLICT (scope, subject) DO UPDATE SET
         failures = CASE WHEN $7 - f.window_start >= CASE WHEN f.scope = $10 THEN $9 ELSE $8 END
                         THEN 1 ELSE f.failures + 1 END,
         throttle_logged = CASE WHEN $7 - f.window_start >= CASE WHEN f.scope = $10 THEN $9 ELSE $8 END
                         THEN FALSE ELSE f.throttle_logged END,
         window_start = CASE WHEN $7 - f.window_start >= CASE WHEN f.scope = $10 THEN $9 ELSE $8 END
                         THEN $7 ELSE f.window_start END
     RETURNING scope, failures, window_start";

const RELEASE: &str = "UPDATE login_failures SET failures = failures - 1
     WHERE (scope, subject) IN (($1, $2), ($3, $4), ($5, $6)) AND failures > 0";

const FORGET: &str = "DELETE FROM login_failures WHERE scope = $1 AND subject = $2";

/// The pair's row holds the flag, even when another counter did the throttling.
const NOTE_THROTTLED: &str =
    "INSERT INTO login_failures (scope, subject, failures, window_start, throttle_logged)
     VALUES ($1, $2, 0, $3, TRUE)
     ON CONFLICT (scope, subject) DO UPDATE SET throttle_logged = TRUE
     WHERE login_failures.throttle_logged = FALSE";

impl<E: Engine> Backend<E> {
    async fn reserve_once(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError> {
        let [pair, ip, user] = keys.subjects();
        let mut tx = self.begin().await?;
        let rows = tx
            .fetch_all(stmt!(
                RESERVE,
                pair.0,
                pair.1,
                ip.0,
                ip.1,
                user.0,
                user.1,
                now,
                windows.address_secs,
                windows.user_secs,
                ThrottleScope::User,
            ))
            .await?;
        tx.commit().await?;
        Ok(counts_from(rows, windows, now))
    }
}

#[async_trait::async_trait]
impl<E: Engine> ThrottleStore for Backend<E> {
    async fn login_counts(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError> {
        let [pair, ip, user] = keys.subjects();
        let rows = self
            .fetch_all(stmt!(COUNTS, pair.0, pair.1, ip.0, ip.1, user.0, user.1))
            .await?;
        Ok(counts_from(rows, windows, now))
    }

    async fn reserve_login_attempt(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError> {
        retry(|| self.reserve_once(keys, windows, now)).await
    }

    async fn release_login_attempt(
        &self,
        keys: &ThrottleKeys,
        forget_pair: bool,
    ) -> Result<(), DbError> {
        let [pair, ip, user] = keys.subjects();
        let mut tx = self.begin().await?;
        tx.execute(stmt!(
            RELEASE,
            pair.0,
            pair.1.as_str(),
            ip.0,
            ip.1,
            user.0,
            user.1
        ))
        .await?;
        if forget_pair {
            tx.execute(stmt!(FORGET, pair.0, pair.1)).await?;
        }
        tx.commit().await
    }

    async fn note_login_throttled(
        &self,
        keys: &ThrottleKeys,
        now: i64,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let [pair, ..] = keys.subjects();
        let mut tx = self.begin().await?;
        let noted = tx
            .execute(stmt!(NOTE_THROTTLED, pair.0, pair.1, now))
            .await?;
        if noted == 0 {
            return Ok(false);
        }
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOWS: ThrottleWindows = ThrottleWindows {
        address_secs: 900,
        user_secs: 3600,
    };

    #[test]
    fn counters_past_their_window_count_as_zero() {
        let rows = vec![
            (ThrottleScope::UserAddress, 3, 1_000),
            (ThrottleScope::Address, 7, 100),
            (ThrottleScope::User, 9, 100),
        ];
        let counts = counts_from(rows, WINDOWS, 1_500);
        assert_eq!(counts.user_ip.failures, 3);
        // 1,400 s old: past the address window, inside the hour of the username ceiling.
        assert_eq!(counts.ip, Counter::default());
        assert_eq!(counts.user.failures, 9);
    }
}
