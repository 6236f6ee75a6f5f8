//! Step-up: a sensitive change (a second factor set up or turned off, a passkey, an address,
//! deleting the account, anything an administrator does) needs a recent authentication, not
//! just a valid access token, so a stolen 15-minute token cannot take the account over
//! (ASVS 5.0 7.5.1, 7.5.3).
//!
//! Access tokens say when their user last authenticated (`auth_time`, RFC 9068 §2.2.1): the
//! login that started the session, kept by every refresh. [`Auth::require_recent`] refuses a
//! token older than `REAUTH_MAX_AGE_SECS` with `reauth_required`; [`Auth::reauthenticate`]
//! takes the password (and, with TOTP on, a code) again, in a throttled attempt like a login's,
//! and answers a new access token for the same session whose `auth_time` is now.

use crate::auth::jwt::{Claims, Subject};
use crate::auth::mfa::SecondFactor;
use crate::auth::self_service::Caller;
use crate::auth::sessions::SessionUser;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError};
use crate::db::UsernameKey;
use crate::model::{Amr, ClientInfo, EventKind};

/// A new access token for the same session.
pub struct Reauthenticated {
    pub user: SessionUser,
    pub access_token: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for Reauthenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reauthenticated")
            .field("user", &self.user)
            .field("access_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// `ReauthRequired` unless the token's user authenticated within `REAUTH_MAX_AGE_SECS`.
    pub fn require_recent(&self, claims: &Claims) -> Result<(), AuthError> {
        let age = self.now() - claims.auth_time;
        if age > self.sessions.reauth_max_age_secs {
            return Err(AuthError::ReauthRequired);
        }
        Ok(())
    }

    /// Checks the caller's password (and second factor, when TOTP is on) again; one answer for
    /// any wrong part. The session's `auth_time` becomes now.
    pub async fn reauthenticate(
        &self,
        caller: &Caller,
        password: String,
        factor: Option<SecondFactor>,
        client: &ClientInfo,
    ) -> Result<Reauthenticated, AuthError> {
        let user = self
            .db
            .find_user(&UsernameKey::of(&caller.username))
            .await?
            .filter(|u| u.id == caller.user_id)
            .ok_or(AuthError::Token(crate::auth::jwt::TokenError::Invalid))?;
        if user.locked {
            return Err(AuthError::AccountLocked);
        }
        let totp = self.totp_enabled(user.id).await?;
        let secret = if totp {
            Secret::PasswordAndCode
        } else {
            Secret::Password
        };
        let mut attempt = self.attempt(&caller.username, client, secret, None).await?;
        let now = attempt.now();
        let mut right = attempt.password(password, Some(user.password_hash)).await?;
        if right && totp {
            right = match &factor {
                Some(factor) => {
                    self.check_second_factor(attempt.counted(), user.id, factor, now)
                        .await?
                }
                None => false,
            };
        }
        if !right {
            attempt.failed();
            let event = caller.event(EventKind::ReauthFailure, client, now);
            self.db.record_event(event).await?;
            return Err(AuthError::WrongPassword);
        }
        attempt.succeeded().await?;
        if !self
            .db
            .reauthenticate(user.id, &caller.session_id, now)
            .await?
        {
            // The session ended meanwhile.
            return Err(AuthError::Token(crate::auth::jwt::TokenError::Invalid));
        }
        let event = caller.event(EventKind::Reauthenticated, client, now);
        self.db.record_event(event).await?;
        let user = SessionUser {
            user_id: user.id,
            username: user.username,
            role: user.role,
            amr: if totp {
                Amr::PasswordAndOtp
            } else {
                Amr::Password
            },
            auth_time: now,
        };
        let subject = Subject {
            user_id: user.user_id,
            username: &user.username,
            role: user.role,
            session_id: &caller.session_id,
            amr: user.amr,
            auth_time: now,
        };
        let access_token = self
            .jwt
            .issue(subject, now)
            .map_err(|e| AuthError::Crypto(format!("signing an access token: {e}")))?;
        tracing::info!(username = ?user.username, "re-authenticated");
        Ok(Reauthenticated {
            user,
            access_token,
            expires_in: self.jwt.ttl_secs().unsigned_abs(),
        })
    }
}
