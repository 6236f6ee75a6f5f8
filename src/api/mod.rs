//! The JSON API: Leptos server functions at fixed paths, used alike by the browser (through the
//! clients in [`crate::client`]) and by any HTTP client such as curl.
//!
//! | endpoint                 | request                         | success                           |
//! |--------------------------|---------------------------------|-----------------------------------|
//! | `POST /api/login`        | `{"username","password"}`       | 200 [`TokenResponse`] + cookie    |
//! | `POST /api/refresh`      | refresh cookie                  | 200 [`TokenResponse`] + new cookie|
//! | `POST /api/logout`       | refresh cookie                  | 204, cookie cleared               |
//! | `GET /api/secret-number` | `Authorization: Bearer <jwt>`   | 200 [`SecretNumberResponse`]              |
//!
//! Errors are [`ApiError`] bodies; the HTTP status, `WWW-Authenticate` and `Retry-After` headers
//! are derived from the error code in one place (`server::api_boundary`).

pub mod codec;
pub mod error;

pub use error::{ApiError, ErrorCode};

use crate::client::{AuthClient, PublicClient};
use codec::NoContent;
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role, carried in the access token's `role` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary account.
    User,
    /// An administrator.
    Admin,
}

impl Role {
    /// The name stored in the database and the token.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses `user` or `admin`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of a successful login or refresh. The refresh token is deliberately absent: it only
/// ever travels in the HttpOnly cookie, out of reach of scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The HS256 access token, for `Authorization: Bearer`.
    pub jwt: String,
    /// Seconds until `jwt` expires.
    pub expires_in: u64,
    /// Who logged in.
    pub username: String,
    /// Their role.
    pub role: Role,
}

/// Who is logged in, as far as the pages need to know (shown in the header, used by guards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The account's name.
    pub username: String,
    /// The account's role.
    pub role: Role,
}

/// Body of `GET /api/secret-number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretNumberResponse {
    /// A fresh random integer on every call.
    pub value: u32,
}

/// Checks a username and password and starts a session: returns an access token and sets the
/// refresh cookie. Wrong credentials and unknown users get the same 401.
#[server(prefix = "/api", endpoint = "login", input = Json, output = Json, client = PublicClient)]
pub async fn login(username: String, password: String) -> Result<TokenResponse, ApiError> {
    crate::server::endpoints::login(username, password).await
}

/// Exchanges the refresh cookie for a new access token and a rotated cookie.
#[server(prefix = "/api", endpoint = "refresh", input = Json, output = Json, client = PublicClient)]
pub async fn refresh() -> Result<TokenResponse, ApiError> {
    crate::server::endpoints::refresh().await
}

/// Revokes the session of the refresh cookie and clears the cookie. Idempotent: 204 either way.
#[server(prefix = "/api", endpoint = "logout", input = Json, output = NoContent, client = PublicClient)]
pub async fn logout() -> Result<(), ApiError> {
    crate::server::endpoints::logout().await
}

/// The protected resource: a fresh random number for a valid bearer access token.
#[server(prefix = "/api", endpoint = "secret-number", input = GetUrl, output = Json, client = AuthClient)]
pub async fn secret_number() -> Result<SecretNumberResponse, ApiError> {
    crate::server::endpoints::secret_number().await
}
