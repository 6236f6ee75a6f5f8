//! The security core (server only): access tokens, passwords, accounts, refresh-token sessions,
//! throttling and the bearer check. No HTTP here: inputs are plain values (a cookie's value, a
//! header's bytes, the client's address), outputs are values or an [`AuthError`], which the
//! server maps to the API's error contract in one place.
//!
//! [`Auth`] bundles what every step needs (storage, signing keys, policies); its methods are the
//! steps: [`Auth::login`], [`Auth::refresh`], [`Auth::logout`], [`Auth::peek`].

pub mod accounts;
pub mod admin;
pub mod bearer;
mod error;
pub mod jwt;
pub mod login;
pub mod mfa;
pub mod password;
pub mod rate_limit;
pub mod refresh_token;
pub mod revocation;
pub mod secret_box;
pub mod self_service;
pub mod sessions;
pub mod totp;

pub use error::{AuthError, RefreshRefusal};

use crate::db::Db;
use jwt::{Claims, JwtKeys, Subject};
use login::ThrottlePolicy;
use password::PasswordHasher;
use rate_limit::LoginRateLimiter;
use refresh_token::ChildKeys;
use revocation::RevokedSessions;
use sessions::{IssuedToken, SessionPolicy, SessionUser};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: the unit of every stored time and every token claim.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Storage, keys, policies and the revocation set: everything an authentication step needs.
pub struct Auth {
    pub db: Db,
    pub jwt: JwtKeys,
    /// Derive each rotation's child token from its parent.
    pub child_keys: ChildKeys,
    pub sessions: SessionPolicy,
    pub throttle: ThrottlePolicy,
    /// Bounded argon2id: at most N hashes at once, in reused memory.
    pub hasher: PasswordHasher,
    /// Login attempts per client address (anti-spraying).
    pub login_rate: LoginRateLimiter,
    /// Seals TOTP secrets at rest.
    pub secret_box: secret_box::SecretBox,
    /// Sessions revoked recently enough that their access tokens could still be unexpired.
    pub revoked: RevokedSessions,
}

/// A successful login or refresh: who, a new access token, and the refresh token for the cookie.
#[derive(Debug)]
pub struct SignedIn {
    pub user: SessionUser,
    /// The HS256 access token.
    pub access_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    pub refresh: IssuedToken,
}

impl Auth {
    /// The bearer check of a protected call: the `Authorization` header's bytes in, the claims
    /// of a valid access token of a live session out. No database round trip.
    pub fn authorize(&self, authorization: Option<&[u8]>) -> Result<Claims, AuthError> {
        let claims = bearer::authorize(authorization, &self.jwt, unix_now())?;
        if self.revoked.contains(&claims.sid) {
            return Err(AuthError::Token(jwt::TokenError::Invalid));
        }
        Ok(claims)
    }

    /// Loads the revocations recent enough to matter (at start-up, and to catch up with other
    /// servers sharing the database) and forgets the ones that no longer can.
    pub async fn sync_revocations(&self, since: i64, now: i64) -> Result<usize, AuthError> {
        let recent = self.db.revoked_sessions_since(since).await?;
        let count = recent.len();
        self.revoked
            .extend(recent.into_iter().map(|r| (r.id, r.revoked_at)));
        self.revoked.prune(now - self.jwt.max_token_age_secs());
        Ok(count)
    }

    fn sign_in(
        &self,
        user: SessionUser,
        refresh: IssuedToken,
        now: i64,
    ) -> Result<SignedIn, AuthError> {
        let subject = Subject {
            user_id: user.user_id,
            username: &user.username,
            role: user.role,
            session_id: &refresh.session_id,
            amr: user.amr,
        };
        let access_token = self
            .jwt
            .issue(subject, now)
            .map_err(|e| AuthError::Crypto(format!("signing an access token: {e}")))?;
        Ok(SignedIn {
            user,
            access_token,
            expires_in: self.jwt.ttl_secs().unsigned_abs(),
            refresh,
        })
    }
}
