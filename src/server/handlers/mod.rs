//! The bodies of the API's server functions (see [`crate::api`]): extract the inputs, call the
//! security core, and put its answer on the wire (body, cookie, status). Sign-up, recovery,
//! the profile and the admin's mail views are in [`accounts`].

pub mod accounts;

use crate::api::account::{MfaStatusResponse, RecoveryCodesResponse, TotpSetupResponse};
use crate::api::account::{SessionView, SessionsResponse};
use crate::api::admin::{EventView, EventsResponse, UserView, UsersResponse};
use crate::api::{
    ApiError, ErrorCode, LoginResponse, MfaRequired, Secret, SecretNumberResponse, TokenResponse,
};
use crate::auth::accounts::Username;
use crate::auth::admin::Admin;
use crate::auth::login::LoginOutcome;
use crate::auth::mfa::SecondFactor;
use crate::auth::self_service::Caller;
use crate::auth::{AuthError, SignedIn};
use crate::db::{EventFilter, UsernameKey};
use crate::model::{EventKind, Role};
use crate::server::cookies;
use crate::server::device;
use crate::server::extract::{extract, state, BearerClaims, ClientInfo, RefreshCookie};
use http::{header, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// `POST /api/login`.
pub async fn login(username: String, password: Secret) -> Result<LoginResponse, ApiError> {
    let state = state()?;
    let (cookie, client): (RefreshCookie, ClientInfo) = (extract().await?, extract().await?);
    let device = cookie.device.as_deref();
    match state
        .auth
        .login(&username, password.expose(), &client, device)
        .await?
    {
        LoginOutcome::SignedIn(signed_in) => Ok(LoginResponse::Token(answer_signed_in(signed_in))),
        LoginOutcome::SecondFactor { challenge } => Ok(LoginResponse::Mfa(MfaRequired {
            mfa_required: true,
            challenge,
        })),
    }
}

/// `POST /api/login/mfa`.
pub async fn login_mfa(
    challenge: Secret,
    code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<TokenResponse, ApiError> {
    let state = state()?;
    let (cookie, client): (RefreshCookie, ClientInfo) = (extract().await?, extract().await?);
    let factor = second_factor(code, recovery_code)?.ok_or_else(|| {
        ApiError::from(AuthError::InvalidInput(
            "Send the challenge with either a code or a recovery_code.".into(),
        ))
    })?;
    let signed_in = state
        .auth
        .login_second_step(
            &challenge.expose(),
            factor,
            &client,
            cookie.device.as_deref(),
        )
        .await?;
    Ok(answer_signed_in(signed_in))
}

/// A code or a recovery code (not both).
fn second_factor(
    code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<Option<SecondFactor>, ApiError> {
    match (code, recovery_code) {
        (Some(code), None) => Ok(Some(SecondFactor::Code(code.expose()))),
        (None, Some(code)) => Ok(Some(SecondFactor::RecoveryCode(code.expose()))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(AuthError::InvalidInput(
            "Send either a code or a recovery_code, not both.".into(),
        )
        .into()),
    }
}

/// `POST /api/reauth`.
pub async fn reauth(
    password: Secret,
    code: Option<Secret>,
    recovery_code: Option<Secret>,
) -> Result<TokenResponse, ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let client: ClientInfo = extract().await?;
    let factor = second_factor(code, recovery_code)?;
    let done = state
        .auth
        .reauthenticate(&caller, password.expose(), factor, &client)
        .await?;
    Ok(TokenResponse {
        jwt: done.access_token,
        expires_in: done.expires_in,
        username: done.user.username,
        role: done.user.role,
    })
}

/// `GET /api/account/mfa`.
pub async fn mfa_status() -> Result<MfaStatusResponse, ApiError> {
    let (state, caller) = (state()?, caller().await?);
    Ok(MfaStatusResponse {
        totp_enabled: state.auth.totp_enabled(caller.user_id).await?,
    })
}

/// `POST /api/account/mfa/totp/setup`.
pub async fn totp_setup() -> Result<TotpSetupResponse, ApiError> {
    let (state, caller) = (state()?, recent_caller().await?);
    let setup = state.auth.setup_totp(&caller).await?;
    Ok(TotpSetupResponse {
        secret: setup.secret,
        otpauth_url: setup.otpauth_url,
        qr_svg: setup.qr_svg,
    })
}

/// `POST /api/account/mfa/totp/enable`.
pub async fn totp_enable(code: Secret) -> Result<RecoveryCodesResponse, ApiError> {
    let (state, caller) = (state()?, recent_caller().await?);
    let client: ClientInfo = extract().await?;
    let recovery_codes = state
        .auth
        .enable_totp(&caller, &code.expose(), &client)
        .await?;
    Ok(RecoveryCodesResponse { recovery_codes })
}

/// `POST /api/account/mfa/totp/disable`.
pub async fn totp_disable(password: Secret, code: Secret) -> Result<(), ApiError> {
    let (state, caller) = (state()?, recent_caller().await?);
    let client: ClientInfo = extract().await?;
    state
        .auth
        .disable_totp(&caller, password.expose(), &code.expose(), &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/admin/users/mfa-reset`.
pub async fn reset_user_mfa(username: String) -> Result<(), ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    let client: ClientInfo = extract().await?;
    let username = target(&username)?;
    state.auth.reset_mfa(&admin, &username, &client).await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
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
    Ok(crate::server::hot_path::draw())
}

/// The caller of an account endpoint, from the bearer token.
async fn caller() -> Result<Caller, ApiError> {
    let BearerClaims(claims) = extract().await?;
    Ok(Caller::from_claims(&claims)?)
}

/// The caller of a sensitive account change: also `403 reauth_required` unless the token's
/// authentication is recent (see `auth::reauth`).
async fn recent_caller() -> Result<Caller, ApiError> {
    let BearerClaims(claims) = extract().await?;
    state()?.auth.require_recent(&claims)?;
    Ok(Caller::from_claims(&claims)?)
}

/// The administrator calling an admin endpoint: 401 without a valid token, 403 for a `user`.
async fn admin() -> Result<Admin, ApiError> {
    let BearerClaims(claims) = extract().await?;
    Ok(Admin::from_claims(&claims)?)
}

/// The administrator making a change: every `POST /api/admin/…` also needs a recent
/// authentication (a `user` still gets 403 `forbidden` first).
async fn recent_admin() -> Result<Admin, ApiError> {
    let BearerClaims(claims) = extract().await?;
    let admin = Admin::from_claims(&claims)?;
    state()?.auth.require_recent(&claims)?;
    Ok(admin)
}

/// A username from a request body; one that breaks the rules cannot exist (404).
fn target(username: &str) -> Result<Username, ApiError> {
    Username::parse(username).map_err(|_| AuthError::NotFound.into())
}

/// `GET /api/account/sessions`.
pub async fn account_sessions() -> Result<SessionsResponse, ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let sessions = state.auth.my_sessions(&caller).await?;
    Ok(SessionsResponse {
        sessions: sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.id == caller.session_id,
                device: device::describe(s.user_agent.as_deref()),
                session_id: s.id,
                user_agent: s.user_agent,
                ip: s.ip,
                last_ip: s.last_ip,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
            })
            .collect(),
    })
}

/// `POST /api/account/sessions/revoke`.
pub async fn revoke_session(session_id: String) -> Result<(), ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let client: ClientInfo = extract().await?;
    state
        .auth
        .end_my_session(&caller, &session_id, &client)
        .await?;
    if session_id == caller.session_id {
        set_cookie(&cookies::clear_refresh());
    }
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/account/sessions/revoke-others`.
pub async fn revoke_other_sessions() -> Result<(), ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let client: ClientInfo = extract().await?;
    state.auth.end_my_sessions(&caller, true, &client).await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/account/logout-everywhere`.
pub async fn logout_everywhere() -> Result<(), ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let client: ClientInfo = extract().await?;
    state.auth.end_my_sessions(&caller, false, &client).await?;
    set_cookie(&cookies::clear_refresh());
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/account/password`.
pub async fn change_password(
    current_password: Secret,
    new_password: Secret,
) -> Result<(), ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let client: ClientInfo = extract().await?;
    let (current, new) = (current_password.expose(), new_password.expose());
    state
        .auth
        .change_password(&caller, current, new, &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `GET /api/admin/users`.
pub async fn admin_users() -> Result<UsersResponse, ApiError> {
    let (state, admin) = (state()?, admin().await?);
    let users = state.auth.list_users(&admin).await?;
    Ok(UsersResponse {
        users: users
            .into_iter()
            .map(|u| UserView {
                username: u.username,
                role: u.role,
                locked: u.locked,
                created_at: u.created_at,
                last_login_at: u.last_login_at,
                sessions: u32::try_from(u.sessions).unwrap_or(u32::MAX),
                totp_enabled: u.totp_enabled,
                email: u.email,
                email_verified: u.email_verified,
            })
            .collect(),
    })
}

/// `POST /api/admin/users/lock`.
pub async fn lock_user(username: String, locked: bool) -> Result<(), ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    let client: ClientInfo = extract().await?;
    let username = target(&username)?;
    state
        .auth
        .set_locked(&admin, &username, locked, &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/admin/users/role`.
pub async fn set_user_role(username: String, role: Role) -> Result<(), ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    let client: ClientInfo = extract().await?;
    let username = target(&username)?;
    state
        .auth
        .set_role(&admin, &username, role, &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/admin/users/revoke-sessions`.
pub async fn revoke_user_sessions(username: String) -> Result<(), ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    let client: ClientInfo = extract().await?;
    let username = target(&username)?;
    state
        .auth
        .end_user_sessions(&admin, &username, &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `GET /api/admin/events?cursor=&username=&kind=` (empty parameters mean "any").
pub async fn admin_events(
    cursor: Option<String>,
    username: Option<String>,
    kind: Option<String>,
) -> Result<EventsResponse, ApiError> {
    let (state, admin) = (state()?, admin().await?);
    let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let invalid = |message: String| ApiError::from(AuthError::InvalidInput(message));
    let before_id = given(cursor)
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| invalid(format!("Invalid cursor {c:?}.")))
        })
        .transpose()?;
    let kind = given(kind)
        .map(|k| {
            EventKind::parse(&k).ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                invalid(format!("Unknown kind {k:?}; one of: {}.", known.join(", ")))
            })
        })
        .transpose()?;
    let filter = EventFilter {
        before_id,
        username: given(username).map(|name| UsernameKey::of(&name)),
        kind,
    };
    let page = state.auth.list_events(&admin, filter).await?;
    Ok(EventsResponse {
        events: page.events.into_iter().map(event_view).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    })
}

/// An audit event as the API shows it.
fn event_view(e: crate::db::EventRow) -> EventView {
    EventView {
        at: e.at,
        kind: e.kind,
        username: e.username,
        ip: e.ip,
        user_agent: e.user_agent,
        actor: e.actor,
        detail: e.detail,
    }
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

/// The token body for the client, the rotated refresh token into its cookie, and a login's
/// device cookie.
fn answer_signed_in(signed_in: SignedIn) -> TokenResponse {
    set_cookie(&cookies::set_refresh(
        &signed_in.refresh.token,
        signed_in.refresh.max_age_secs,
    ));
    if let Some(device) = &signed_in.device_cookie {
        set_cookie(&cookies::set_device(device));
    }
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
