//! The JSON API: Leptos server functions at fixed paths, used alike by the browser (through the
//! clients in [`crate::client`]) and by any HTTP client such as curl.
//!
//! | endpoint                 | request                         | success                            |
//! |--------------------------|---------------------------------|------------------------------------|
//! | `POST /api/login`        | `{"username","password"}`       | 200 [`TokenResponse`] + cookie, or [`MfaRequired`] |
//! | `POST /api/login/mfa`    | `{"challenge","code"}` or `{"challenge","recovery_code"}` | 200 [`TokenResponse`] + cookie |
//! | `POST /api/refresh`      | refresh cookie                  | 200 [`TokenResponse`] + new cookie |
//! | `POST /api/logout`       | refresh cookie                  | 204, cookie cleared                |
//! | `GET /api/secret-number` | `Authorization: Bearer <jwt>`   | 200 [`SecretNumberResponse`]       |
//!
//! The account endpoints (`/api/account/…`) are in [`account`], the admin endpoints
//! (`/api/admin/…`) in [`admin`], sign-up and password recovery in [`signup`].
//!
//! The bodies live in `server::handlers`; errors are [`ApiError`] bodies whose HTTP status,
//! `WWW-Authenticate` and `Retry-After` headers are derived from the error code in one place
//! (`server::api_boundary`).

pub mod account;
pub mod admin;
pub mod codec;
pub mod error;
pub mod signup;

pub use crate::model::Role;
pub use error::{ApiError, ErrorCode};

use crate::client::{AuthClient, PublicClient};
use codec::NoContent;
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A password or a code as a request carries it: on the wire the plain string, in a `Debug`
/// (a log line, a panic) never.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Body of a successful login or refresh. The refresh token is deliberately absent: it only
/// ever travels in the HttpOnly cookie, out of reach of scripts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The HS256 access token, for `Authorization: Bearer`.
    pub jwt: String,
    /// Seconds until `jwt` expires, so a client can renew it before a request fails.
    pub expires_in: u64,
    pub username: String,
    pub role: Role,
}

/// Body of a right password for a user with a second factor: no token and no cookie yet, but
/// a challenge for `POST /api/login/mfa`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRequired {
    /// Always `true`: what a client branches on.
    pub mfa_required: bool,
    /// Opaque, single-use, valid five minutes.
    pub challenge: String,
}

crate::model::debug_showing!(TokenResponse {
    expires_in,
    username,
    role
});
crate::model::debug_showing!(MfaRequired { mfa_required });

/// Body of `POST /api/login`: a session, or the second step.
///
/// Serialised untagged (the two bodies differ in their fields); read back through the flat
/// [`LoginWire`] rather than serde's untagged deserializer, which buffers the whole body in
/// an intermediate tree first and costs the browser bundle several KB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, try_from = "LoginWire")]
pub enum LoginResponse {
    Token(TokenResponse),
    Mfa(MfaRequired),
}

/// Every field either body of [`LoginResponse`] can have.
#[derive(Deserialize)]
struct LoginWire {
    #[serde(default)]
    mfa_required: bool,
    challenge: Option<String>,
    jwt: Option<String>,
    expires_in: Option<u64>,
    username: Option<String>,
    role: Option<Role>,
}

impl TryFrom<LoginWire> for LoginResponse {
    type Error = &'static str;

    fn try_from(wire: LoginWire) -> Result<Self, Self::Error> {
        match wire {
            LoginWire {
                mfa_required: true,
                challenge: Some(challenge),
                ..
            } => Ok(Self::Mfa(MfaRequired {
                mfa_required: true,
                challenge,
            })),
            LoginWire {
                mfa_required: false,
                jwt: Some(jwt),
                expires_in: Some(expires_in),
                username: Some(username),
                role: Some(role),
                ..
            } => Ok(Self::Token(TokenResponse {
                jwt,
                expires_in,
                username,
                role,
            })),
            _ => Err("neither a token response nor a second-step challenge"),
        }
    }
}

/// Who is logged in, as far as the pages need to know (shown in the header, used by guards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub username: String,
    pub role: Role,
}

/// Body of `GET /api/secret-number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretNumberResponse {
    /// A fresh draw on every call: the page's "New number" proves each call was authorised.
    pub value: u32,
}

/// Checks a username and password and starts a session: returns an access token and sets the
/// refresh cookie. Wrong credentials and unknown users get the same 401.
#[server(prefix = "/api", endpoint = "login", input = Json, output = Json, client = PublicClient)]
pub async fn login(username: String, password: Secret) -> Result<LoginResponse, ApiError> {
    crate::server::handlers::login(username, password).await
}

/// The second step of a login with TOTP: the challenge and a current code, or a recovery code.
#[server(prefix = "/api", endpoint = "login/mfa", input = Json, output = Json, client = PublicClient)]
pub async fn login_mfa(
    challenge: Secret,
    code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<TokenResponse, ApiError> {
    crate::server::handlers::login_mfa(challenge, code, recovery_code).await
}

/// Proves the password (and, with TOTP on, a code) again: a new access token for the same
/// session, whose `auth_time` is now. What sensitive changes ask for (`reauth_required`).
#[server(prefix = "/api", endpoint = "reauth", input = Json, output = Json, client = AuthClient)]
pub async fn reauth(
    password: Secret,
    code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<TokenResponse, ApiError> {
    crate::server::handlers::reauth(password, code, recovery_code).await
}

/// Exchanges the refresh cookie for a new access token and a rotated cookie.
#[server(prefix = "/api", endpoint = "refresh", input = Json, output = Json, client = PublicClient)]
pub async fn refresh() -> Result<TokenResponse, ApiError> {
    crate::server::handlers::refresh().await
}

/// Revokes the session of the refresh cookie and clears the cookie. Idempotent: 204 either way.
#[server(prefix = "/api", endpoint = "logout", input = Json, output = NoContent, client = PublicClient)]
pub async fn logout() -> Result<(), ApiError> {
    crate::server::handlers::logout().await
}

/// The protected resource: a fresh random number for a valid bearer access token.
#[server(prefix = "/api", endpoint = "secret-number", input = GetUrl, output = Json, client = AuthClient)]
pub async fn secret_number() -> Result<SecretNumberResponse, ApiError> {
    crate::server::handlers::secret_number().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_responses_read_back_as_the_variant_they_were() {
        let token = LoginResponse::Token(TokenResponse {
            jwt: "a.b.c".into(),
            expires_in: 900,
            username: "user".into(),
            role: Role::User,
        });
        let mfa = LoginResponse::Mfa(MfaRequired {
            mfa_required: true,
            challenge: "opaque".into(),
        });
        for response in [token, mfa] {
            let text = serde_json::to_string(&response).unwrap();
            assert_eq!(
                serde_json::from_str::<LoginResponse>(&text).unwrap(),
                response
            );
        }
        assert_eq!(
            serde_json::to_value(LoginResponse::Mfa(MfaRequired {
                mfa_required: true,
                challenge: "c".into(),
            }))
            .unwrap(),
            serde_json::json!({"mfa_required": true, "challenge": "c"})
        );
        for odd in [
            r#"{}"#,
            r#"{"mfa_required":true}"#,
            r#"{"mfa_required":false,"challenge":"c"}"#,
            r#"{"jwt":"a.b.c","expires_in":900,"username":"user"}"#,
        ] {
            assert!(serde_json::from_str::<LoginResponse>(odd).is_err(), "{odd}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_token_a_challenge_or_a_password() {
        let token = TokenResponse {
            jwt: "header.payload.signature".into(),
            expires_in: 900,
            username: "user".into(),
            role: Role::User,
        };
        let mfa = MfaRequired {
            mfa_required: true,
            challenge: "the-challenge".into(),
        };
        let shown = format!("{token:?} {mfa:?} {:?}", Secret("hunter2-hunter2".into()));
        for secret in ["signature", "the-challenge", "hunter2"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("user"));
    }
}
