//! Logging in: the per-address bucket, the password checked in a throttled attempt
//! (`auth::throttle`), then a session, or the second step when the account has one.
//!
//! The bucket (30 attempts at once per address, 30 more a minute, kept in memory) stops one
//! address from trying a few passwords against many names (spraying), which the per-name
//! counters cannot see; refusing costs nothing. Then the attempt: wrong passwords and unknown
//! users take the same time (a dummy hash is verified) and get the same error.
//!
//! The session starts only if the account is still as the password check saw it (its security
//! epoch, in the same transaction as the insert): a login racing a lock, a demotion, a new
//! password or a new second factor either ends up with a session that the change then ends, or
//! with none. It then looks again: a lock answers `account_locked`, a new password
//! `invalid_credentials`, anything else (a role, "log out everywhere") starts over with the
//! account as it is now.

use crate::auth::accounts::{Username, UsernameError, MAX_PASSWORD_LEN};
use crate::auth::device::DeviceId;
use crate::auth::outbox::Notice;
use crate::auth::rate_limit::limit_key;
use crate::auth::sessions::SessionUser;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError, SignedIn};
use crate::db::{Actor, NewEvent, UserRow};
use crate::model::{Amr, ClientInfo, EventKind};
use std::time::Instant;

/// What a right password leads to.
pub enum LoginOutcome {
    /// A session: the user has no second factor.
    SignedIn(SignedIn),
    /// The user has TOTP: no session yet, but a challenge for `POST /api/login/mfa`.
    SecondFactor { challenge: String },
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignedIn(signed_in) => f.debug_tuple("SignedIn").field(signed_in).finish(),
            Self::SecondFactor { .. } => f.write_str("SecondFactor { challenge: [redacted] }"),
        }
    }
}

/// How many times a login starts over when its account changed under it.
const MAX_STARTS: usize = 3;

impl Auth {
    /// Checks a username and password and starts a session (or the second step). `device` is
    /// the request's device cookie, if it had one.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        client: &ClientInfo,
        device: Option<&str>,
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
        self.take_login_token(client)?;
        let name = username.as_str();
        let user = self.db.find_user(&username.key()).await?;
        let device = user
            .as_ref()
            .and_then(|u| device.and_then(|cookie| self.device_keys.verify(cookie, u.id)));
        let mut attempt = self
            .attempt(name, client, Secret::Password, device.as_ref())
            .await?;
        let now = attempt.now();
        let event = |kind| NewEvent::new(kind, name, Actor::User, now).by(client);
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let verified = attempt.password(password, phc).await?;
        let mut user = match user {
            Some(user) if verified => user,
            _ => {
                attempt.failed();
                self.db.record_event(event(EventKind::LoginFailure)).await?;
                tracing::info!(username = ?name, "login failed");
                return Err(AuthError::InvalidCredentials);
            }
        };
        // The right password: not a failure, whatever follows.
        attempt.succeeded().await?;
        for _ in 0..MAX_STARTS {
            if user.locked {
                self.db.record_event(event(EventKind::LoginLocked)).await?;
                return Err(AuthError::AccountLocked);
            }
            // An open sign-up whose address is not proven yet (told only after the right
            // password, so it reveals nothing the password did not).
            if user.email.is_some() && user.email_verified_at.is_none() {
                return Err(AuthError::EmailNotVerified);
            }
            if let Some(outcome) = self
                .after_password(&user, client, device.as_ref(), now)
                .await?
            {
                return Ok(outcome);
            }
            // The account changed between the check and the session: look again.
            let checked = user.password_hash.clone();
            user = match self.db.find_user(&username.key()).await? {
                Some(now_is) if now_is.password_hash == checked => now_is,
                _ => return Err(AuthError::InvalidCredentials),
            };
        }
        Err(AuthError::InvalidCredentials)
    }

    /// One token of the client address's login bucket (anti-spraying, in memory).
    pub(crate) fn take_login_token(&self, client: &ClientInfo) -> Result<(), AuthError> {
        let Some(ip) = client.ip else { return Ok(()) };
        let refused = self
            .login_rate
            .check_all(ip, Instant::now())
            .err()
            .map(|retry_after| {
                tracing::debug!(ip = %limit_key(ip), retry_after, "login rate limit");
                AuthError::Throttled { retry_after }
            });
        refused.map_or(Ok(()), Err)
    }

    /// The session (or the second step) of a user whose password was right, at the epoch the
    /// check read. `None` when the account changed meanwhile.
    async fn after_password(
        &self,
        user: &UserRow,
        client: &ClientInfo,
        device: Option<&DeviceId>,
        now: i64,
    ) -> Result<Option<LoginOutcome>, AuthError> {
        if self.totp_enabled(user.id).await? {
            let challenge = self
                .start_second_step(user.id, user.security_epoch, now)
                .await?;
            tracing::info!(username = ?user.username, "password right; second factor required");
            return Ok(Some(LoginOutcome::SecondFactor { challenge }));
        }
        let session_user = SessionUser {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role,
            amr: Amr::Password,
            auth_time: now,
        };
        let Some(issued) = self
            .start_session(&session_user, user.security_epoch, client, now)
            .await?
        else {
            return Ok(None);
        };
        tracing::info!(username = ?user.username, "login succeeded");
        let mut signed_in = self.sign_in(session_user, issued, now)?;
        signed_in.device_cookie = self.device_keys.issue(user.id, device);
        if device.is_none() {
            self.notify(user, Notice::NewDevice, Some(client)).await;
        }
        Ok(Some(LoginOutcome::SignedIn(signed_in)))
    }
}
