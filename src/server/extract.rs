//! Request extractors: what a handler reads from a request, as typed values. Server functions
//! pull them in with [`extract`]; plain axum handlers and middleware take them as arguments.
//!
//! | extractor        | from                                   | refuses with                 |
//! |------------------|----------------------------------------|------------------------------|
//! | [`RefreshCookie`]| the `Cookie` header                    | never (handlers refuse a duplicated cookie) |
//! | [`ClientInfo`]   | the socket's peer address, `User-Agent`| never                        |
//! | [`BearerClaims`] | `Authorization: Bearer <jwt>`          | 401 `missing_token`, `invalid_token`, `token_expired` |

use crate::api::ApiError;
use crate::auth::jwt::Claims;
use crate::server::{
    cookies::{self, RefreshCookieValue},
    error::internal,
    state::AppState,
};
use axum::extract::{ConnectInfo, FromRequestParts};
use http::{header, request::Parts};
use leptos::prelude::use_context;
use std::{convert::Infallible, fmt::Debug, net::SocketAddr};

pub use crate::db::ClientInfo;

/// The refresh cookie of a request.
#[derive(Debug, Clone, Default)]
pub struct RefreshCookie {
    pub value: RefreshCookieValue,
    /// The request also carried the old unprefixed cookie, which should be cleared.
    pub legacy_present: bool,
}

impl RefreshCookie {
    /// Reads it from request parts (also used by the page-session middleware).
    pub fn from_parts(parts: &Parts) -> Self {
        let headers = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let (value, legacy_present) = cookies::find_refresh(headers);
        Self {
            value,
            legacy_present,
        }
    }

    /// The token, when the request carries exactly one refresh cookie.
    pub fn token(&self) -> Option<&str> {
        match &self.value {
            RefreshCookieValue::One(token) => Some(token),
            _ => None,
        }
    }

    pub fn is_duplicated(&self) -> bool {
        self.value == RefreshCookieValue::Several
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RefreshCookie {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// Longest `User-Agent` kept for the audit log.
const MAX_USER_AGENT_CHARS: usize = 256;

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        })
    }
}

/// The verified claims of the request's bearer access token.
#[derive(Debug, Clone)]
pub struct BearerClaims(pub Claims);

impl FromRequestParts<AppState> for BearerClaims {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        Ok(Self(state.auth.authorize(header)?))
    }
}

/// The shared state, inside a server function.
pub fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| internal("server function context", "no AppState"))
}

/// Runs extractor `T` on the current request, inside a server function, keeping its typed
/// rejection (leptos_axum's own `extract` would flatten it into a string).
pub async fn extract<T>() -> Result<T, ApiError>
where
    T: FromRequestParts<AppState> + Send,
    T::Rejection: Into<ApiError> + Debug,
{
    let state = state()?;
    leptos_axum::extract_with_state::<Result<T, T::Rejection>, AppState>(&state)
        .await
        .map_err(|e| internal("extracting from the request", e))?
        .map_err(Into::into)
}
