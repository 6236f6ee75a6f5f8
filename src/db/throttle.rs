//! Failure counters: one row per (scope, subject), counting failures in a fixed window from
//! its first failure. Which counters an attempt uses, and their limits, is `auth::throttle`'s
//! business; this stores and counts.

use super::audit::{record, NewEvent};
use super::engine::{retry, stmt, Backend, Engine};
use super::DbError;

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
    /// One device (a device cookie), instead of the username's ceiling.
    #[sqlx(rename = "device")]
    Device,
    /// Wrong second-factor codes of one account, from anywhere.
    #[sqlx(rename = "mfa_user")]
    SecondFactor,
    /// Requests that send mail, from one address (every request counts, not only failures).
    #[sqlx(rename = "mail_ip")]
    MailAddress,
    /// Mails requested for one recipient address, from anywhere.
    #[sqlx(rename = "mail_to")]
    MailRecipient,
}

impl ThrottleScope {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserAddress => "user_ip",
            Self::Address => "ip",
            Self::User => "user",
            Self::Device => "device",
            Self::SecondFactor => "mfa_user",
            Self::MailAddress => "mail_ip",
            Self::MailRecipient => "mail_to",
        }
    }
}

/// One counter an attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub scope: ThrottleScope,
    /// What it counts: a username key, an address, `key|address`, a device id.
    pub key: String,
    /// How long its window lasts.
    pub window_secs: i64,
}

/// One failure counter in its current window (zero when the window has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub failures: i64,
    /// When the window started (Unix seconds).
    pub window_start: i64,
}

impl Counter {
    /// The stored counter as of `now`: nothing once its window has passed.
    pub fn current(failures: i64, window_start: i64, window_secs: i64, now: i64) -> Self {
        if now - window_start >= window_secs {
            Self::default()
        } else {
            Self {
                failures,
                window_start,
            }
        }
    }
}

/// The failure counters.
#[async_trait::async_trait]
pub trait ThrottleStore: Send + Sync {
    /// The current counters of `subjects`, in their order. Read-only.
    async fn counters(&self, subjects: &[Subject], now: i64) -> Result<Vec<Counter>, DbError>;

    /// Counts an attempt against every subject at once, before its secret is checked (a
    /// window that has passed starts again at 1), and returns the new counters.
    async fn reserve_attempt(
        &self,
        subjects: &[Subject],
        now: i64,
    ) -> Result<Vec<Counter>, DbError>;

    /// Takes a reserved attempt back (it was no failure), and clears the counters of `clear`.
    async fn release_attempt(&self, subjects: &[Subject], clear: &[Subject])
        -> Result<(), DbError>;

    /// Records `event` if `subject`'s window has not recorded a throttled attempt yet.
    /// Returns whether it did.
    async fn note_throttled(
        &self,
        subject: &Subject,
        now: i64,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;
}

const COUNTER: &str = "SELECT failures, window_start FROM login_failures
     WHERE scope = $1 AND subject = $2";

/// A window that has passed starts again (and may record a throttled attempt again).
const RESERVE: &str = "INSERT INTO login_failures AS f (scope, subject, failures, window_start)
     VALUES ($1, $2, 1, $3)
     ON CONFLICT (scope, subject) DO UPDATE SET
         failures = CASE WHEN $3 - f.window_start >= $4 THEN 1 ELSE f.failures + 1 END,
         throttle_logged = CASE WHEN $3 - f.window_start >= $4 THEN FALSE
                                ELSE f.throttle_logged END,
         window_start = CASE WHEN $3 - f.window_start >= $4 THEN $3 ELSE f.window_start END
     RETURNING failures, window_start";

const RELEASE: &str = "UPDATE login_failures SET failures = failures - 1
     WHERE scope = $1 AND subject = $2 AND failures > 0";

const CLEAR: &str = "DELETE FROM login_failures WHERE scope = $1 AND subject = $2";

const NOTE_THROTTLED: &str =
    "INSERT INTO login_failures (scope, subject, failures, window_start, throttle_logged)
     VALUES ($1, $2, 0, $3, TRUE)
     ON CONFLICT (scope, subject) DO UPDATE SET throttle_logged = TRUE
     WHERE login_failures.throttle_logged = FALSE";

impl<E: Engine> Backend<E> {
    async fn reserve_once(&self, subjects: &[Subject], now: i64) -> Result<Vec<Counter>, DbError> {
        let mut tx = self.begin().await?;
        let mut counters = Vec::with_capacity(subjects.len());
        for s in subjects {
            let (failures, start): (i64, i64) = tx
                .fetch_optional(stmt!(RESERVE, s.scope, &s.key, now, s.window_secs))
                .await?
                .ok_or(DbError::Backend(sqlx::Error::RowNotFound))?;
            counters.push(Counter::current(failures, start, s.window_secs, now));
        }
        tx.commit().await?;
        Ok(counters)
    }
}

#[async_trait::async_trait]
impl<E: Engine> ThrottleStore for Backend<E> {
    async fn counters(&self, subjects: &[Subject], now: i64) -> Result<Vec<Counter>, DbError> {
        let mut counters = Vec::with_capacity(subjects.len());
        for s in subjects {
            let row: Option<(i64, i64)> =
                self.fetch_optional(stmt!(COUNTER, s.scope, &s.key)).await?;
            counters.push(row.map_or_else(Counter::default, |(failures, start)| {
                Counter::current(failures, start, s.window_secs, now)
            }));
        }
        Ok(counters)
    }

    async fn reserve_attempt(
        &self,
        subjects: &[Subject],
        now: i64,
    ) -> Result<Vec<Counter>, DbError> {
        retry(|| self.reserve_once(subjects, now)).await
    }

    async fn release_attempt(
        &self,
        subjects: &[Subject],
        clear: &[Subject],
    ) -> Result<(), DbError> {
        let mut tx = self.begin().await?;
        for s in subjects {
            tx.execute(stmt!(RELEASE, s.scope, &s.key)).await?;
        }
        for s in clear {
            tx.execute(stmt!(CLEAR, s.scope, &s.key)).await?;
        }
        tx.commit().await
    }

    async fn note_throttled(
        &self,
        subject: &Subject,
        now: i64,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.begin().await?;
        let noted = tx
            .execute(stmt!(NOTE_THROTTLED, subject.scope, &subject.key, now))
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

    #[test]
    fn a_counter_past_its_window_counts_as_zero() {
        assert_eq!(Counter::current(3, 1_000, 900, 1_500).failures, 3);
        assert_eq!(Counter::current(7, 100, 900, 1_500), Counter::default());
        assert_eq!(Counter::current(9, 100, 3_600, 1_500).failures, 9);
    }
}
