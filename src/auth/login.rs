//! Logging in: the throttle, the password check, and a new session.
//!
//! Each attempt is counted *before* the password is checked, in one atomic step of the store, so
//! a burst of parallel guesses cannot all slip past the limit. A correct password clears the
//! count. The window is fixed from the first failure: once it has passed the count starts
//! again, so nobody can lock an account out for good.

use crate::auth::accounts::{Username, UsernameError, MAX_PASSWORD_LEN};
use crate::auth::sessions::SessionUser;
use crate::auth::{password, unix_now, Auth, AuthError, SignedIn};
use crate::db::{ClientInfo, NewEvent};
use crate::model::EventKind;

/// Login throttling, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failed logins per username within the window before attempts are refused.
    pub max_failures: u32,
    /// Length of the counting window, which is also how long a throttle lasts.
    pub window_secs: i64,
}

impl Auth {
    /// Checks a username and password and starts a session. Wrong passwords and unknown users
    /// take the same time (a dummy hash is verified) and get the same error.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let parsed = Username::parse(username);
        if matches!(parsed, Err(UsernameError::Empty)) || password.is_empty() {
            return Err(AuthError::MissingCredentials);
        }
        let Ok(username) = parsed else {
            // No account can have this name: same answer as a wrong password, without hashing.
            return Err(AuthError::InvalidCredentials);
        };
        if password.len() > MAX_PASSWORD_LEN {
            return Err(AuthError::InvalidCredentials);
        }
        let now = unix_now();
        let event = |kind, name| NewEvent {
            kind,
            username: name,
            family_id: None,
            client,
            at: now,
        };

        let window = self.throttle.window_secs;
        let count = self
            .db
            .count_login_attempt(username.as_str(), window, now)
            .await?;
        if count.failures > i64::from(self.throttle.max_failures) {
            let retry_after = (count.window_start + window - now).max(1).unsigned_abs();
            self.db
                .record_event(event(EventKind::LoginThrottled, username.as_str()))
                .await?;
            tracing::info!(username = %username, retry_after, "login throttled");
            return Err(AuthError::Throttled { retry_after });
        }

        let user = self.db.find_user(username.as_str()).await?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let verified = password::verify_off_runtime(password, phc).await;
        let user = match user {
            Some(user) if verified => user,
            _ => {
                self.db
                    .record_event(event(EventKind::LoginFailure, username.as_str()))
                    .await?;
                tracing::info!(username = %username, "login failed");
                return Err(AuthError::InvalidCredentials);
            }
        };

        self.db.reset_login_failures(&user.username).await?;
        if let Err(e) = self.db.prune_login_failures(window, now).await {
            tracing::warn!(error = %e, "pruning old login failures");
        }
        let user = SessionUser {
            user_id: user.id,
            username: user.username,
            role: user.role,
        };
        let issued = self.start_session(&user, client, now).await?;
        tracing::info!(username = %user.username, "login succeeded");
        self.sign_in(user, issued, now)
    }
}
