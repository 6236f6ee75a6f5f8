//! The bodies of the API's server functions (see [`crate::api`]): request context in, auth logic
//! called, cookies and statuses set on the way out.

use crate::api::{ApiError, ErrorCode, Role, SecretNumberResponse, TokenResponse};
use crate::auth::{bearer, password, refresh_token, sessions, unix_now};
use crate::db::{
    events::{self, ClientInfo, Event, EventKind},
    throttle, users,
};
use crate::server::state::AppState;
use axum::extract::ConnectInfo;
use http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;

/// Longest username accepted.
pub const MAX_USERNAME_LEN: usize = 64;
/// Longest password accepted (argon2 would take any length; this bounds the work per request).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Logs a server-side failure and turns it into an opaque 500: details stay in the log.
pub fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "{context}");
    ApiError::new(ErrorCode::Internal)
}

/// What every endpoint needs from the Leptos context: state, request parts, response options.
struct Ctx {
    state: AppState,
    parts: Parts,
    response: ResponseOptions,
}

impl Ctx {
    fn get() -> Result<Self, ApiError> {
        match (
            use_context::<AppState>(),
            use_context::<Parts>(),
            use_context::<ResponseOptions>(),
        ) {
            (Some(state), Some(parts), Some(response)) => Ok(Self {
                state,
                parts,
                response,
            }),
            _ => Err(internal(
                "server function context",
                "AppState, Parts or ResponseOptions missing",
            )),
        }
    }

    fn client(&self) -> ClientInfo {
        client_info(&self.parts)
    }

    /// Appends to the audit log (a failure to write it fails the request: no silent gaps).
    async fn audit(
        &self,
        kind: EventKind,
        username: &str,
        family_id: Option<&str>,
        now: i64,
    ) -> Result<(), ApiError> {
        let event = Event::new(kind, username, family_id);
        events::record(&self.state.pool, event, &self.client(), now)
            .await
            .map_err(|e| internal("audit log", e))
    }

    fn refresh_cookie(&self) -> Option<&str> {
        refresh_cookie(&self.parts)
    }

    fn set_cookie(&self, value: &str) {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.response.append_header(header::SET_COOKIE, value);
        }
    }

    fn token_response(
        &self,
        user_id: i64,
        username: String,
        role: Role,
        now: i64,
    ) -> Result<TokenResponse, ApiError> {
        let jwt = self
            .state
            .jwt
            .issue(user_id, &username, role, now)
            .map_err(|e| internal("signing an access token", e))?;
        Ok(TokenResponse {
            jwt,
            expires_in: self.state.jwt.ttl_secs(),
            username,
            role,
        })
    }
}

/// The refresh cookie of a request, if any.
pub fn refresh_cookie(parts: &Parts) -> Option<&str> {
    refresh_token::from_cookie_headers(
        parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

/// Client IP and user agent for the audit log.
pub fn client_info(parts: &Parts) -> ClientInfo {
    ClientInfo {
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
    }
}

fn parse_role(stored: &str) -> Result<Role, ApiError> {
    Role::parse(stored)
        .ok_or_else(|| internal("reading a user", format!("unknown role {stored:?}")))
}

/// `POST /api/login`.
pub async fn login(username: String, password: String) -> Result<TokenResponse, ApiError> {
    let ctx = Ctx::get()?;
    let username = username.trim().to_owned();
    if username.is_empty() || password.is_empty() {
        return Err(ApiError::with_message(
            ErrorCode::InvalidRequest,
            "Enter a username and a password.",
        ));
    }
    if username.chars().count() > MAX_USERNAME_LEN || password.len() > MAX_PASSWORD_LEN {
        // Too long to be a real account: same answer as a wrong password, without the hashing.
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    }
    let (state, now) = (&ctx.state, unix_now());
    let config = &state.config;
    let window = i64::try_from(config.login_throttle_window.as_secs()).unwrap_or(i64::MAX);

    let throttled = throttle::count_attempt(
        &state.pool,
        &username,
        config.login_max_failures,
        window,
        now,
    )
    .await
    .map_err(|e| internal("counting a login attempt", e))?;
    if let Some(wait) = throttled {
        ctx.audit(EventKind::LoginThrottled, &username, None, now)
            .await?;
        tracing::info!(username = %username, retry_after = wait, "login throttled");
        return Err(ApiError::too_many_attempts(wait));
    }

    let user = users::find_by_username(&state.pool, &username)
        .await
        .map_err(|e| internal("looking up a user", e))?;
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let verified = password::verify_off_runtime(password, phc).await;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            ctx.audit(EventKind::LoginFailure, &username, None, now)
                .await?;
            tracing::info!(username = %username, "login failed");
            return Err(ApiError::new(ErrorCode::InvalidCredentials));
        }
    };

    throttle::reset(&state.pool, &user.username)
        .await
        .map_err(|e| internal("resetting throttle", e))?;
    if let Err(e) = throttle::prune(&state.pool, window, now).await {
        tracing::warn!(error = %e, "pruning old login failures");
    }
    let role = parse_role(&user.role)?;
    let issued = sessions::start(&state.pool, user.id, state.session_policy(), now)
        .await
        .map_err(|e| internal("starting a session", e))?;
    ctx.audit(
        EventKind::LoginSuccess,
        &user.username,
        Some(&issued.family_id),
        now,
    )
    .await?;
    tracing::info!(username = %user.username, "login succeeded");

    let body = ctx.token_response(user.id, user.username, role, now)?;
    ctx.set_cookie(&refresh_token::set_cookie(
        &issued.token,
        issued.max_age_secs,
    ));
    Ok(body)
}

/// `POST /api/refresh`.
pub async fn refresh() -> Result<TokenResponse, ApiError> {
    let ctx = Ctx::get()?;
    let now = unix_now();
    let Some(presented) = ctx.refresh_cookie() else {
        ctx.set_cookie(&refresh_token::clear_cookie());
        return Err(ApiError::new(ErrorCode::InvalidRefreshToken));
    };
    match sessions::rotate(
        &ctx.state.pool,
        presented,
        ctx.state.session_policy(),
        &ctx.client(),
        now,
    )
    .await
    {
        Ok((user, issued)) => {
            let role = parse_role(&user.role)?;
            let body = ctx.token_response(user.user_id, user.username, role, now)?;
            ctx.set_cookie(&refresh_token::set_cookie(
                &issued.token,
                issued.max_age_secs,
            ));
            Ok(body)
        }
        Err(sessions::RefreshError::Database(e)) => Err(internal("rotating a refresh token", e)),
        Err(reason) => {
            tracing::info!(%reason, "refresh refused");
            ctx.set_cookie(&refresh_token::clear_cookie());
            Err(ApiError::new(ErrorCode::InvalidRefreshToken))
        }
    }
}

/// `POST /api/logout`.
pub async fn logout() -> Result<(), ApiError> {
    let ctx = Ctx::get()?;
    if let Some(presented) = ctx.refresh_cookie() {
        let ended = sessions::end(&ctx.state.pool, presented, &ctx.client(), unix_now())
            .await
            .map_err(|e| internal("ending a session", e))?;
        if let Some(username) = ended {
            tracing::info!(username = %username, "logged out");
        }
    }
    ctx.set_cookie(&refresh_token::clear_cookie());
    ctx.response.set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `GET /api/secret-number`.
pub async fn secret_number() -> Result<SecretNumberResponse, ApiError> {
    let ctx = Ctx::get()?;
    bearer::authorize(&ctx.parts.headers, &ctx.state.jwt)?;
    Ok(SecretNumberResponse {
        value: rand::random_range(0..1_000_000),
    })
}

/// Demo accounts created in development so the app can be tried at once.
pub const DEMO_USERS: [(&str, &str, Role); 2] = [
    ("user", "user-secret-42", Role::User),
    ("admin", "admin-secret-42", Role::Admin),
];

/// Creates the demo users that do not exist yet.
pub async fn seed_demo_users(pool: &sqlx::SqlitePool) -> anyhow::Result<()> {
    for (name, pass, role) in DEMO_USERS {
        if !users::exists(pool, name).await? {
            let phc = password::hash_off_runtime(pass.to_owned())
                .await
                .map_err(|e| anyhow::anyhow!("hashing a demo password: {e}"))?;
            users::insert(pool, name, &phc, role.as_str(), unix_now()).await?;
            tracing::info!(username = name, role = %role, "created demo user");
        }
    }
    Ok(())
}
