//! Logging in: limits that cannot be turned against the user, the password check, a session.
//!
//! Four limits, checked in this order, none of which lets one client lock an account out for
//! everyone else:
//!
//! | limit                          | counts                  | default        | stops                  |
//! |--------------------------------|-------------------------|----------------|------------------------|
//! | token bucket per address       | every attempt (memory)  | 30, +30/min    | spraying many names    |
//! | failures per (name, address)   | wrong passwords         | 5 / 15 min     | guessing one account   |
//! | failures per address           | wrong passwords         | 50 / 15 min    | one address, many names|
//! | failures per name (ceiling)    | wrong passwords         | 100 / hour     | guessing from botnets  |
//!
//! The failure counters are read first, without writing: a throttled attempt writes nothing
//! (but one `login_throttled` audit event per (name, address) window). An attempt that may go
//! on is then counted on all three counters at once *before* its password is checked, so a
//! burst of parallel guesses cannot slip past a limit; a right password takes its count back
//! (and clears its (name, address) counter), so correct logins never use up a limit. Windows
//! are fixed from their first failure, so no window can be extended for good.

use crate::auth::accounts::{Username, UsernameError, MAX_PASSWORD_LEN};
use crate::auth::rate_limit::limit_key;
use crate::auth::sessions::SessionUser;
use crate::auth::{unix_now, Auth, AuthError, SignedIn};
use crate::db::{ClientInfo, LoginCounts, NewEvent, ThrottleKeys, ThrottleWindows};
use crate::model::{Amr, EventKind};
use std::time::Instant;

/// What a right password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// A session: the user has no second factor.
    SignedIn(SignedIn),
    /// The user has TOTP: no session yet, but a challenge for `POST /api/login/mfa`.
    SecondFactor { challenge: String },
}

/// Login throttling, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failed logins per (username, address) within the window before attempts are refused.
    pub max_failures: u32,
    /// Failed logins per address (any usernames) within the window.
    pub max_ip_failures: u32,
    /// Failed logins per username (any addresses) within an hour.
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

impl Auth {
    /// Checks a username and password and starts a session. Wrong passwords and unknown users
    /// take the same time (a dummy hash is verified) and get the same error.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AuthError> {
        let username = match Username::parse(username) {
            Err(UsernameError::Empty) => return Err(AuthError::MissingCredentials),
            Err(rule) => return Err(AuthError::InvalidUsername(rule)),
            Ok(_) if password.is_empty() => return Err(AuthError::MissingCredentials),
            Ok(name) => name,
        };
        if password.len() > MAX_PASSWORD_LEN {
            return Err(AuthError::PasswordTooLong);
        }
        let now = unix_now();
        let address = client.ip.map(limit_key);
        if let Some(ip) = address {
            if let Err(retry_after) = self.login_rate.check(ip, Instant::now()) {
                tracing::debug!(ip = %ip, retry_after, "login rate limit");
                return Err(AuthError::Throttled { retry_after });
            }
        }
        let keys = ThrottleKeys {
            user: username.as_str().to_lowercase(),
            ip: address.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        };
        let windows = self.throttle.windows();
        let event = |kind, name| NewEvent {
            actor: None,
            kind,
            username: name,
            family_id: None,
            client,
            at: now,
        };

        let throttled = |retry_after| Throttled {
            keys: &keys,
            event: event(EventKind::LoginThrottled, username.as_str()),
            retry_after,
        };

        // Read-only: a throttled attempt writes nothing (but its window's one event).
        let counts = self.db.login_counts(&keys, windows, now).await?;
        if let Some(retry_after) = self.throttle.refusal(&counts, now, false) {
            return Err(self.refuse(throttled(retry_after)).await);
        }
        // A hashing slot before counting: in a flood, the attempts that cannot be checked are
        // refused (503) without a write.
        let slot = self.hasher.slot().await?;
        let counts = self.db.reserve_login_attempt(&keys, windows, now).await?;
        if let Some(retry_after) = self.throttle.refusal(&counts, now, true) {
            // Parallel attempts used the limit up meanwhile.
            return Err(self.refuse(throttled(retry_after)).await);
        }

        let user = self.db.find_user(username.as_str()).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let verified = match slot.verify(password, phc).await {
            Ok(verified) => verified,
            Err(e) => {
                // Never checked: not a failure.
                self.db.release_login_attempt(&keys, false).await?;
                return Err(e.into());
            }
        };
        let user = match user {
            Some(user) if verified && user.locked => {
                // The right password: not a failure, but no session either.
                self.db.release_login_attempt(&keys, true).await?;
                self.db
                    .record_event(event(EventKind::LoginLocked, username.as_str()))
                    .await?;
                return Err(AuthError::AccountLocked);
            }
            Some(user) if verified => user,
            _ => {
                self.db
                    .record_event(event(EventKind::LoginFailure, username.as_str()))
                    .await?;
                tracing::info!(username = ?username.as_str(), "login failed");
                return Err(AuthError::InvalidCredentials);
            }
        };

        self.db.release_login_attempt(&keys, true).await?;
        if self.totp_enabled(user.id).await? {
            let challenge = self.start_second_step(user.id, now).await?;
            tracing::info!(username = ?user.username, "password right; second factor required");
            return Ok(LoginOutcome::SecondFactor { challenge });
        }
        let user = SessionUser {
            user_id: user.id,
            username: user.username,
            role: user.role,
            amr: Amr::Password,
        };
        let issued = self.start_session(&user, client, now).await?;
        tracing::info!(username = ?user.username, "login succeeded");
        Ok(LoginOutcome::SignedIn(self.sign_in(user, issued, now)?))
    }
}

/// A throttled attempt, for its audit event.
struct Throttled<'a> {
    keys: &'a ThrottleKeys,
    event: NewEvent<'a>,
    retry_after: u64,
}

impl Auth {
    /// Refuses a throttled attempt; its window's first refusal is recorded.
    async fn refuse(&self, throttled: Throttled<'_>) -> AuthError {
        let Throttled {
            keys,
            event,
            retry_after,
        } = throttled;
        if let Err(e) = self.db.note_login_throttled(keys, event.at, event).await {
            return e.into();
        }
        tracing::debug!(username = ?event.username, retry_after, "login throttled");
        AuthError::Throttled { retry_after }
    }
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
