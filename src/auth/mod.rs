//! The security core (server only): access tokens, passwords, accounts, refresh-token sessions,
//! throttling and the bearer check. No HTTP here: inputs are plain values (a cookie's value, a
//! header's bytes, the client's address), outputs are values or an [`AuthError`], which the
//! server maps to the API's error contract in one place.
//!
//! [`Auth`] bundles what every step needs (storage, signing keys, policies); its methods are the
//! steps: [`Auth::login`], [`Auth::refresh`], [`Auth::logout`], [`Auth::peek`].

pub mod accounts;
pub mod bearer;
mod error;
pub mod jwt;
pub mod login;
pub mod password;
pub mod refresh_token;
pub mod sessions;

pub use error::{AuthError, RefreshRefusal};

use crate::db::Db;
use jwt::JwtKeys;
use login::ThrottlePolicy;
use sessions::{IssuedToken, SessionPolicy, SessionUser};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: the unit of every stored time and every token claim.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Storage, keys and policies: everything an authentication step needs.
pub struct Auth {
    pub db: Db,
    pub jwt: JwtKeys,
    pub sessions: SessionPolicy,
    pub throttle: ThrottlePolicy,
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
    fn sign_in(
        &self,
        user: SessionUser,
        refresh: IssuedToken,
        now: i64,
    ) -> Result<SignedIn, AuthError> {
        let access_token = self
            .jwt
            .issue(user.user_id, &user.username, user.role, now)
            .map_err(|e| AuthError::Crypto(format!("signing an access token: {e}")))?;
        Ok(SignedIn {
            user,
            access_token,
            expires_in: self.jwt.ttl_secs().unsigned_abs(),
            refresh,
        })
    }
}
