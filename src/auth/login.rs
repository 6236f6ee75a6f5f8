//! Logging in: the per-address bucket, the password checked in a throttled attempt
//! (`auth::throttle`), then a session, or the second step when the account has one.
//!
//! The bucket (30 attempts at once per address, 30 more a minute, kept in memory) stops one
//! address from trying a few passwords against many names (spraying), which the per-name
//! counters cannot see; refusing costs nothing. Then the attempt: wrong passwords and unknown
//! users take the same time (a dummy hash is verified) and get the same error.

use crate::auth::accounts::{Username, UsernameError, MAX_PASSWORD_LEN};
use crate::auth::rate_limit::limit_key;
use crate::auth::sessions::SessionUser;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError, SignedIn};
use crate::db::{Actor, NewEvent, UsernameKey};
use crate::model::{Amr, ClientInfo, EventKind};
use std::time::Instant;

/// What a right password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// A session: the user has no second factor.
    SignedIn(SignedIn),
    /// The user has TOTP: no session yet, but a challenge for `POST /api/login/mfa`.
    SecondFactor { challenge: String },
}

impl Auth {
    /// Checks a username and password and starts a session (or the second step).
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
        if let Some(ip) = client.ip.map(limit_key) {
            if let Err(retry_after) = self.login_rate.check(ip, Instant::now()) {
                tracing::debug!(ip = %ip, retry_after, "login rate limit");
                return Err(AuthError::Throttled { retry_after });
            }
        }
        let name = username.as_str();
        let mut attempt = self.attempt(name, client, Secret::Password).await?;
        let now = attempt.now();
        let event = |kind| NewEvent::new(kind, name, Actor::User, now).by(client);

        let user = self.db.find_user(&UsernameKey::of(name)).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let verified = attempt.password(password, phc).await?;
        let user = match user {
            Some(user) if verified && user.locked => {
                // The right password: not a failure, but no session either.
                attempt.succeeded().await?;
                self.db.record_event(event(EventKind::LoginLocked)).await?;
                return Err(AuthError::AccountLocked);
            }
            Some(user) if verified => user,
            _ => {
                attempt.failed();
                self.db.record_event(event(EventKind::LoginFailure)).await?;
                tracing::info!(username = ?name, "login failed");
                return Err(AuthError::InvalidCredentials);
            }
        };
        attempt.succeeded().await?;
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
