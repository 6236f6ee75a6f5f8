//! The throttled attempt: the one way to check a password or a code.
//!
//! Every check of a secret (the login's password, the second step's code, the current password
//! when changing it, the password and code that turn TOTP off, a code that turns it on) runs
//! the same sequence, written only here:
//!
//! 1. the keys: the account (its canonical name) and the client's address;
//! 2. the counters, read without writing; a limit reached refuses at once (`Throttled`, and one
//!    `login_throttled` audit event per (name, address) window), so a flood writes nothing;
//! 3. for a password, a hashing slot (`Busy` when none frees up: refused before any write);
//! 4. the attempt is counted on every counter *before* the secret is checked, so parallel
//!    guesses cannot slip past a limit (and refused if they used it up meanwhile);
//! 5. the check, which needs the proof of step 4 ([`Counted`]; nothing else makes one);
//! 6. settling: a right secret takes its count back ([`Attempt::succeeded`]); a wrong one leaves
//!    it ([`Attempt::failed`], also what dropping an attempt does).
//!
//! | limit                          | counts                  | default        | stops                  |
//! |--------------------------------|-------------------------|----------------|------------------------|
//! | failures per (name, address)   | wrong secrets           | 5 / 15 min     | guessing one account   |
//! | failures per address           | wrong secrets           | 50 / 15 min    | one address, many names|
//! | failures per name (ceiling)    | wrong secrets           | 100 / hour     | guessing from botnets  |
//!
//! Windows are fixed from their first failure, so no window can be extended for good. (The
//! per-address token bucket against spraying comes before all this, in `login`.)

pub mod proof;

pub use proof::Counted;

use crate::auth::password::Slot;
use crate::auth::rate_limit::limit_key;
use crate::auth::{Auth, AuthError};
use crate::db::{Actor, LoginCounts, NewEvent, ThrottleKeys, ThrottleWindows, UsernameKey};
use crate::model::{ClientInfo, EventKind};

/// Login throttling, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per (username, address) within the window before attempts are refused.
    pub max_failures: u32,
    /// Failures per address (any usernames) within the window.
    pub max_ip_failures: u32,
    /// Failures per username (any addresses) within an hour.
    pub max_user_failures_per_hour: u32,
    /// Length of the (username, address) and address windows.
    pub window_secs: i64,
}

impl ThrottlePolicy {
    /// The per-username ceiling counts over an hour (OWASP ASVS 2.2.1).
    pub const USER_WINDOW_SECS: i64 = 3600;

    pub fn windows(&self) -> ThrottleWindows {
        ThrottleWindows {
            address_secs: self.window_secs,
            user_secs: Self::USER_WINDOW_SECS,
        }
    }

    /// `Some(seconds to wait)` when a counter has reached its limit (before an attempt is
    /// counted) or gone past it (`counted`: the counts include this attempt).
    pub fn refusal(&self, counts: &LoginCounts, now: i64, counted: bool) -> Option<u64> {
        let user_secs = Self::USER_WINDOW_SECS;
        [
            (counts.user_ip, self.max_failures, self.window_secs),
            (counts.ip, self.max_ip_failures, self.window_secs),
            (counts.user, self.max_user_failures_per_hour, user_secs),
        ]
        .into_iter()
        .filter(|(counter, limit, _)| {
            let limit = i64::from(*limit);
            if counted {
                counter.failures > limit
            } else {
                counter.failures >= limit
            }
        })
        .map(|(counter, _, window)| (counter.window_start + window - now).max(1).unsigned_abs())
        .max()
    }
}

/// What an attempt checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A password: argon2id, in a hashing slot.
    Password,
    /// A TOTP or recovery code (no hashing slot).
    Code,
}

/// A counted attempt at an account's secret, in progress.
pub struct Attempt<'a> {
    auth: &'a Auth,
    keys: ThrottleKeys,
    now: i64,
    slot: Option<Slot<'a>>,
    counted: Counted,
}

impl Auth {
    /// Starts an attempt on the account named `username` (as typed) by `client`: steps 1 to 4
    /// of the module docs. The attempt counts as a failure until it is settled otherwise.
    pub(crate) async fn attempt(
        &self,
        username: &str,
        client: &ClientInfo,
        secret: Secret,
    ) -> Result<Attempt<'_>, AuthError> {
        let now = self.now();
        let keys = ThrottleKeys {
            user: UsernameKey::of(username),
            ip: client
                .ip
                .map(limit_key)
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        };
        let windows = self.throttle.windows();
        let counts = self.db.login_counts(&keys, windows, now).await?;
        if let Some(retry_after) = self.throttle.refusal(&counts, now, false) {
            return Err(self.refuse(&keys, username, client, now, retry_after).await);
        }
        // A hashing slot before counting: in a flood, the attempts that cannot be checked are
        // refused (503) without a write.
        let slot = match secret {
            Secret::Password => Some(self.hasher.slot().await?),
            Secret::Code => None,
        };
        let counts = self.db.reserve_login_attempt(&keys, windows, now).await?;
        if let Some(retry_after) = self.throttle.refusal(&counts, now, true) {
            // Parallel attempts used the limit up meanwhile.
            return Err(self.refuse(&keys, username, client, now, retry_after).await);
        }
        Ok(Attempt {
            auth: self,
            keys,
            now,
            slot,
            counted: Counted::new(),
        })
    }

    /// Refuses a throttled attempt; its window's first refusal is recorded.
    async fn refuse(
        &self,
        keys: &ThrottleKeys,
        username: &str,
        client: &ClientInfo,
        now: i64,
        retry_after: u64,
    ) -> AuthError {
        let event = NewEvent::new(EventKind::LoginThrottled, username, Actor::User, now).by(client);
        if let Err(e) = self.db.note_login_throttled(keys, now, event).await {
            return e.into();
        }
        tracing::debug!(username = ?username, retry_after, "attempt throttled");
        AuthError::Throttled { retry_after }
    }
}

impl Attempt<'_> {
    /// When the attempt started: the time every step of it uses.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The proof a code check needs.
    pub fn counted(&self) -> &Counted {
        &self.counted
    }

    /// Checks a password against a stored hash (`None`: no such account, which costs the same
    /// time and is never right) in this attempt's hashing slot. A hash that could not be
    /// computed was never a failure: its count is taken back.
    pub async fn password(
        &mut self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, AuthError> {
        let Some(slot) = self.slot.take() else {
            return Err(AuthError::Crypto(
                "a password attempt without a hashing slot".into(),
            ));
        };
        match slot.verify(&self.counted, password, phc).await {
            Ok(verified) => Ok(verified),
            Err(e) => {
                self.auth
                    .db
                    .release_login_attempt(&self.keys, false)
                    .await?;
                Err(e.into())
            }
        }
    }

    /// The secret was right: the count is taken back and the (name, address) counter cleared,
    /// so correct logins never use up a limit.
    pub async fn succeeded(self) -> Result<(), AuthError> {
        Ok(self.auth.db.release_login_attempt(&self.keys, true).await?)
    }

    /// The secret was wrong: the count stays.
    pub fn failed(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Counter;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        max_ip_failures: 50,
        max_user_failures_per_hour: 100,
        window_secs: 900,
    };

    fn counter(failures: i64, window_start: i64) -> Counter {
        Counter {
            failures,
            window_start,
        }
    }

    #[test]
    fn each_counter_refuses_at_its_own_limit_until_its_window_ends() {
        let now = 1_000;
        let quiet = LoginCounts::default();
        assert_eq!(POLICY.refusal(&quiet, now, false), None);
        let pair = LoginCounts {
            user_ip: counter(5, 900),
            ..quiet
        };
        assert_eq!(POLICY.refusal(&pair, now, false), Some(800));
        let address = LoginCounts {
            ip: counter(50, 400),
            ..quiet
        };
        assert_eq!(POLICY.refusal(&address, now, false), Some(300));
        let ceiling = LoginCounts {
            user_ip: counter(4, 990),
            user: counter(100, 0),
            ..quiet
        };
        assert_eq!(POLICY.refusal(&ceiling, now, false), Some(2600));
        let below = LoginCounts {
            user_ip: counter(4, 990),
            ip: counter(49, 990),
            user: counter(99, 990),
        };
        assert_eq!(POLICY.refusal(&below, now, false), None);
        // Once this attempt is counted, reaching the limit is fine; passing it is not.
        assert_eq!(POLICY.refusal(&pair, now, true), None);
        let past = LoginCounts {
            user_ip: counter(6, 900),
            ..quiet
        };
        assert_eq!(POLICY.refusal(&past, now, true), Some(800));
    }
}
