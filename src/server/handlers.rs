//! The bodies of the API's server functions (see [`crate::api`]): extract the inputs, call the
//! security core, and put its answer on the wire (body, cookie, status).

use crate::api::{ApiError, ErrorCode, SecretNumberResponse, TokenResponse};
use crate::auth::{AuthError, SignedIn};
use crate::server::cookies;
use crate::server::extract::{extract, state, BearerClaims, ClientInfo, RefreshCookie};
use http::{header, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// `POST /api/login`.
pub async fn login(username: String, password: String) -> Result<TokenResponse, ApiError> {
    let state = state()?;
    let client: ClientInfo = extract().await?;
    let signed_in = state.auth.login(&username, password, &client).await?;
    Ok(answer_signed_in(signed_in))
}

/// `POST /api/refresh`.
pub async fn refresh() -> Result<TokenResponse, ApiError> {
    let state = state()?;
    let (cookie, client): (RefreshCookie, ClientInfo) = (extract().await?, extract().await?);
    refuse_duplicated(&cookie)?;
    match state.auth.refresh(cookie.token(), &client).await {
        Ok(signed_in) => Ok(answer_signed_in(signed_in)),
        Err(e) => {
            // A refused token is dead for good; a server failure must not log anyone out.
            if matches!(e, AuthError::RefreshRefused(_)) {
                set_cookie(&cookies::clear_refresh());
            }
            Err(e.into())
        }
    }
}

/// `POST /api/logout`.
pub async fn logout() -> Result<(), ApiError> {
    let state = state()?;
    let (cookie, client): (RefreshCookie, ClientInfo) = (extract().await?, extract().await?);
    refuse_duplicated(&cookie)?;
    state.auth.logout(cookie.token(), &client).await?;
    set_cookie(&cookies::clear_refresh());
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `GET /api/secret-number`.
pub async fn secret_number() -> Result<SecretNumberResponse, ApiError> {
    let BearerClaims(_claims) = extract().await?;
    Ok(SecretNumberResponse {
        value: rand::random_range(0..1_000_000),
    })
}

/// A request with more than one refresh cookie is refused and every copy cleared (see
/// `server::cookies`); the legacy unprefixed cookie is cleared whenever it shows up.
fn refuse_duplicated(cookie: &RefreshCookie) -> Result<(), ApiError> {
    if cookie.legacy_present {
        for clear in cookies::clear_legacy() {
            set_cookie(&clear);
        }
    }
    if cookie.is_duplicated() {
        tracing::warn!("request with more than one refresh cookie refused");
        set_cookie(&cookies::clear_refresh());
        return Err(ApiError::new(ErrorCode::InvalidRefreshToken));
    }
    Ok(())
}

/// The token body for the client, and the rotated refresh token into its cookie.
fn answer_signed_in(signed_in: SignedIn) -> TokenResponse {
    set_cookie(&cookies::set_refresh(
        &signed_in.refresh.token,
        signed_in.refresh.max_age_secs,
    ));
    TokenResponse {
        jwt: signed_in.access_token,
        expires_in: signed_in.expires_in,
        username: signed_in.user.username,
        role: signed_in.user.role,
    }
}

fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

fn set_status(status: StatusCode) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
    }
}
