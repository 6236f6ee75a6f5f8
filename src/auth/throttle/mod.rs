//! The throttled attempt: the one way to check a password or a code.
//!
//! Every check of a secret (the login's password, the second step's code, the current password
//! when changing it, the password and code that turn TOTP off, a code that turns it on) runs
//! the same sequence, written only here:
//!
//! 1. the counters: the account (its canonical name) with the client's address, the address,
//!    and the account's ceiling, or, for a request with a valid device cookie of the account,
//!    that device instead (so nobody can keep an account locked out of its own devices); for a
//!    second-factor code also the account's code counter;
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
//! | failures per device            | wrong secrets with its cookie | 5 / 15 min | guessing from a stolen device cookie |
//! | wrong codes per account        | wrong second-factor codes | 5 / 15 min   | guessing the second factor |
//! | mail links per address         | unknown, used or expired links | 50 / 15 min (the address limit) | probing for links |
//!
//! Requests that send mail (sign-up, "forgot password", a resend, a new address) are limited
//! apart from this, by [`Auth::limit_mail`]: every request counts, per client address (20 per
//! 15 min) and per recipient address (5 an hour), so nobody can use the server to flood a
//! mailbox, and the limit says nothing about whether the address has an account.
//!
//! Windows are fixed from their first failure, so no window can be extended for good. (The
//! per-address token bucket against spraying comes before all this, in `login`.)

pub mod proof;

pub use proof::Counted;

use crate::auth::device::DeviceId;
use crate::auth::password::Slot;
use crate::auth::rate_limit::limit_key;
use crate::auth::{Auth, AuthError};
use crate::db::{Actor, Counter, NewEvent, Subject, ThrottleScope, UsernameKey};
use crate::model::{ClientInfo, EventKind};

/// Login throttling, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per (username, address), and per device, within the window before attempts are
    /// refused.
    pub max_failures: u32,
    /// Failures per address (any usernames) within the window.
    pub max_ip_failures: u32,
    /// Failures per username (any addresses) within an hour.
    pub max_user_failures_per_hour: u32,
    /// Wrong second-factor codes per account (any challenges, any addresses) within the window.
    pub max_mfa_failures: u32,
    /// Length of the windows but the username ceiling's.
    pub window_secs: i64,
    /// Mail-sending requests per client address within the window.
    pub max_mail_per_address: u32,
    /// Mails per recipient address within an hour.
    pub max_mail_per_recipient: u32,
}

impl ThrottlePolicy {
    /// The per-username ceiling counts over an hour (OWASP ASVS 2.2.1).
    pub const USER_WINDOW_SECS: i64 = 3600;

    /// The longest window: counters older than this are gone for good.
    pub fn longest_window_secs(&self) -> i64 {
        self.window_secs.max(Self::USER_WINDOW_SECS)
    }

    /// The limit and window of a counter of `scope`.
    pub fn limit(&self, scope: ThrottleScope) -> (u32, i64) {
        match scope {
            ThrottleScope::UserAddress | ThrottleScope::Device => {
                (self.max_failures, self.window_secs)
            }
            ThrottleScope::Address => (self.max_ip_failures, self.window_secs),
            ThrottleScope::User => (self.max_user_failures_per_hour, Self::USER_WINDOW_SECS),
            ThrottleScope::SecondFactor => (self.max_mfa_failures, self.window_secs),
            ThrottleScope::MailAddress => (self.max_mail_per_address, self.window_secs),
            ThrottleScope::MailRecipient => (self.max_mail_per_recipient, Self::USER_WINDOW_SECS),
        }
    }

    /// `Some(seconds to wait)` when a counter has reached its limit (before an attempt is
    /// counted) or gone past it (`counted`: the counters include this attempt).
    pub fn refusal(
        &self,
        counters: &[(ThrottleScope, Counter)],
        now: i64,
        counted: bool,
    ) -> Option<u64> {
        counters
            .iter()
            .filter(|(scope, counter)| {
                let limit = i64::from(self.limit(*scope).0);
                if counted {
                    counter.failures > limit
                } else {
                    counter.failures >= limit
                }
            })
            .map(|(scope, counter)| {
                let window = self.limit(*scope).1;
                (counter.window_start + window - now).max(1).unsigned_abs()
            })
            .max()
    }
}

/// What an attempt checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A password: argon2id, in a hashing slot.
    Password,
    /// A password and a second-factor code together (turning TOTP off, re-authenticating).
    PasswordAndCode,
    /// A second-factor code: also counted per account, across challenges and addresses, and
    /// never cleared by a right password.
    SecondFactor,
    /// The first code of a factor being set up (no hashing slot, no per-account code count).
    Enrolment,
    /// A mail link's token: counted per client address only (the token names no account).
    Link,
}

impl Secret {
    fn needs_slot(self) -> bool {
        matches!(self, Self::Password | Self::PasswordAndCode)
    }

    fn is_second_factor(self) -> bool {
        matches!(self, Self::PasswordAndCode | Self::SecondFactor)
    }
}

/// A counted attempt at an account's secret, in progress.
pub struct Attempt<'a> {
    auth: &'a Auth,
    subjects: Vec<Subject>,
    now: i64,
    slot: Option<Slot<'a>>,
    counted: Counted,
}

impl Auth {
    /// Starts an attempt on the account named `username` (as typed) by `client`: steps 1 to 4
    /// of the module docs. The counters: (name, address), address, and the name's ceiling, or
    /// instead of the ceiling the device, when the request carries a valid device cookie of
    /// this account (`device`); for a code, also the account's code counter. The attempt counts
    /// as a failure until it is settled otherwise.
    pub(crate) async fn attempt(
        &self,
        username: &str,
        client: &ClientInfo,
        secret: Secret,
        device: Option<&DeviceId>,
    ) -> Result<Attempt<'_>, AuthError> {
        let now = self.now();
        let subjects = self.subjects(username, client, secret, device);
        let scoped = |counters: Vec<Counter>| -> Vec<(ThrottleScope, Counter)> {
            subjects.iter().map(|s| s.scope).zip(counters).collect()
        };
        let counters = scoped(self.db.counters(&subjects, now).await?);
        if let Some(retry_after) = self.throttle.refusal(&counters, now, false) {
            return Err(self
                .refuse(&subjects[0], username, client, now, retry_after)
                .await);
        }
        // A hashing slot before counting: in a flood, the attempts that cannot be checked are
        // refused (503) without a write.
        let slot = match secret.needs_slot() {
            true => Some(self.hasher.slot().await?),
            false => None,
        };
        let counters = scoped(self.db.reserve_attempt(&subjects, now).await?);
        if let Some(retry_after) = self.throttle.refusal(&counters, now, true) {
            // Parallel attempts used the limit up meanwhile.
            return Err(self
                .refuse(&subjects[0], username, client, now, retry_after)
                .await);
        }
        Ok(Attempt {
            auth: self,
            subjects,
            now,
            slot,
            counted: Counted::new(),
        })
    }

    fn subjects(
        &self,
        username: &str,
        client: &ClientInfo,
        secret: Secret,
        device: Option<&DeviceId>,
    ) -> Vec<Subject> {
        let user = UsernameKey::of(username);
        let ip = address_key(client);
        let subject = |scope, key| self.subject(scope, key);
        if secret == Secret::Link {
            return vec![subject(ThrottleScope::Address, ip)];
        }
        let mut subjects = vec![
            subject(
                ThrottleScope::UserAddress,
                format!("{}|{ip}", user.as_str()),
            ),
            subject(ThrottleScope::Address, ip),
            match device {
                Some(device) => subject(ThrottleScope::Device, device.as_str().to_owned()),
                None => subject(ThrottleScope::User, user.as_str().to_owned()),
            },
        ];
        if secret.is_second_factor() {
            subjects.push(subject(
                ThrottleScope::SecondFactor,
                user.as_str().to_owned(),
            ));
        }
        subjects
    }

    fn subject(&self, scope: ThrottleScope, key: String) -> Subject {
        Subject {
            scope,
            key,
            window_secs: self.throttle.limit(scope).1,
        }
    }

    /// Counts a request that sends mail, from `client` to `recipient` (a canonical address),
    /// and refuses it when either limit is used up. Every request counts, whether or not the
    /// address has an account, so the limit tells nothing.
    pub(crate) async fn limit_mail(
        &self,
        client: &ClientInfo,
        recipient: &str,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let subjects = [
            self.subject(ThrottleScope::MailAddress, address_key(client)),
            self.subject(ThrottleScope::MailRecipient, recipient.to_owned()),
        ];
        let counters = self.db.reserve_attempt(&subjects, now).await?;
        let scoped: Vec<(ThrottleScope, Counter)> =
            subjects.iter().map(|s| s.scope).zip(counters).collect();
        match self.throttle.refusal(&scoped, now, true) {
            Some(retry_after) => {
                tracing::debug!(retry_after, "mail requests throttled");
                Err(AuthError::Throttled { retry_after })
            }
            None => Ok(()),
        }
    }

    /// Refuses a throttled attempt; its window's first refusal is recorded.
    async fn refuse(
        &self,
        pair: &Subject,
        username: &str,
        client: &ClientInfo,
        now: i64,
        retry_after: u64,
    ) -> AuthError {
        let event = NewEvent::new(EventKind::LoginThrottled, username, Actor::User, now).by(client);
        if let Err(e) = self.db.note_throttled(pair, now, event).await {
            return e.into();
        }
        tracing::debug!(username = ?username, retry_after, "attempt throttled");
        AuthError::Throttled { retry_after }
    }
}

/// The throttle key of the client's address (its /64 for IPv6).
fn address_key(client: &ClientInfo) -> String {
    client
        .ip
        .map(limit_key)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
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
                self.auth.db.release_attempt(&self.subjects, &[]).await?;
                Err(e.into())
            }
        }
    }

    /// The secret was right: the count is taken back, and the (name, address) counter (and for a
    /// code, the account's code counter) cleared, so correct logins never use up a limit.
    pub async fn succeeded(self) -> Result<(), AuthError> {
        let clear: Vec<Subject> = self
            .subjects
            .iter()
            .filter(|s| {
                matches!(
                    s.scope,
                    ThrottleScope::UserAddress | ThrottleScope::SecondFactor
                )
            })
            .cloned()
            .collect();
        Ok(self.auth.db.release_attempt(&self.subjects, &clear).await?)
    }

    /// The secret was wrong: the count stays.
    pub fn failed(self) {}

    /// The secret was never checked (nothing left to check it against): the count is taken
    /// back, nothing cleared.
    pub async fn not_checked(self) -> Result<(), AuthError> {
        Ok(self.auth.db.release_attempt(&self.subjects, &[]).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        max_ip_failures: 50,
        max_user_failures_per_hour: 100,
        max_mfa_failures: 5,
        window_secs: 900,
        max_mail_per_address: 20,
        max_mail_per_recipient: 5,
    };

    fn counter(scope: ThrottleScope, failures: i64, window_start: i64) -> (ThrottleScope, Counter) {
        (
            scope,
            Counter {
                failures,
                window_start,
            },
        )
    }

    #[test]
    fn each_counter_refuses_at_its_own_limit_until_its_window_ends() {
        use ThrottleScope::*;
        let now = 1_000;
        assert_eq!(POLICY.refusal(&[], now, false), None);
        assert_eq!(
            POLICY.refusal(&[counter(UserAddress, 5, 900)], now, false),
            Some(800)
        );
        assert_eq!(
            POLICY.refusal(&[counter(Address, 50, 400)], now, false),
            Some(300)
        );
        let ceiling = [counter(UserAddress, 4, 990), counter(User, 100, 0)];
        assert_eq!(POLICY.refusal(&ceiling, now, false), Some(2600));
        let below = [
            counter(UserAddress, 4, 990),
            counter(Address, 49, 990),
            counter(User, 99, 990),
            counter(SecondFactor, 4, 990),
        ];
        assert_eq!(POLICY.refusal(&below, now, false), None);
        assert_eq!(
            POLICY.refusal(&[counter(SecondFactor, 5, 990)], now, false),
            Some(890)
        );
        assert_eq!(
            POLICY.refusal(&[counter(Device, 5, 990)], now, false),
            Some(890)
        );
        // Once this attempt is counted, reaching the limit is fine; passing it is not.
        assert_eq!(
            POLICY.refusal(&[counter(UserAddress, 5, 900)], now, true),
            None
        );
        assert_eq!(
            POLICY.refusal(&[counter(UserAddress, 6, 900)], now, true),
            Some(800)
        );
    }
}
