//! The account API: a logged-in user's sessions and password (bearer token required).
//!
//! | endpoint                                  | request                                  | success |
//! |-------------------------------------------|------------------------------------------|---------|
//! | `GET /api/account/sessions`               | –                                        | 200 [`SessionsResponse`] |
//! | `POST /api/account/sessions/revoke`       | `{"session_id"}`                         | 204 (404 for an id that is not yours) |
//! | `POST /api/account/sessions/revoke-others`| –                                        | 204 |
//! | `POST /api/account/logout-everywhere`     | –                                        | 204, cookie cleared |
//! | `POST /api/account/password`              | `{"current_password","new_password"}`    | 204, other sessions ended |
//! | `GET /api/account/mfa`                    | –                                        | 200 [`MfaStatusResponse`] |
//! | `POST /api/account/mfa/totp/setup`        | –                                        | 200 [`TotpSetupResponse`] |
//! | `POST /api/account/mfa/totp/enable`       | `{"code"}`                               | 200 [`RecoveryCodesResponse`], other sessions ended |
//! | `POST /api/account/mfa/totp/disable`      | `{"password","code"}`                    | 204, other sessions ended |
//! | `GET /api/account/profile`                | –                                        | 200 [`ProfileResponse`] |
//! | `POST /api/account/email`                 | `{"email"}` (recent authentication)      | 202 `verification_sent` |
//! | `POST /api/account/delete`                | `{"password"}` (recent authentication)   | 204, every session ended |
//! | `GET /api/account/export`                 | –                                        | 200 [`ExportResponse`], as an attachment |

use crate::api::{codec::NoContent, ApiError, Secret};
use crate::client::AuthClient;
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

/// One live session of the user (times are Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: String,
    /// The session of the request itself ("This device").
    pub current: bool,
    /// Readable device, e.g. "Chrome on Linux", from the user agent recorded at login.
    pub device: String,
    pub user_agent: Option<String>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client address at the latest refresh.
    pub last_ip: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// Body of `GET /api/account/sessions`: newest activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsResponse {
    pub sessions: Vec<SessionView>,
}

/// The user's live sessions.
#[server(prefix = "/api", endpoint = "account/sessions", input = GetUrl, output = Json, client = AuthClient)]
pub async fn account_sessions() -> Result<SessionsResponse, ApiError> {
    crate::server::handlers::account_sessions().await
}

/// Ends one of the user's sessions (at once, its access tokens too).
#[server(prefix = "/api", endpoint = "account/sessions/revoke", input = Json, output = NoContent, client = AuthClient)]
pub async fn revoke_session(session_id: String) -> Result<(), ApiError> {
    crate::server::handlers::revoke_session(session_id).await
}

/// Ends every session of the user but this one.
#[server(prefix = "/api", endpoint = "account/sessions/revoke-others", input = Json, output = NoContent, client = AuthClient)]
pub async fn revoke_other_sessions() -> Result<(), ApiError> {
    crate::server::handlers::revoke_other_sessions().await
}

/// Ends every session of the user, this one included.
#[server(prefix = "/api", endpoint = "account/logout-everywhere", input = Json, output = NoContent, client = AuthClient)]
pub async fn logout_everywhere() -> Result<(), ApiError> {
    crate::server::handlers::logout_everywhere().await
}

/// Changes the password (the current one is required); every other session ends.
#[server(prefix = "/api", endpoint = "account/password", input = Json, output = NoContent, client = AuthClient)]
pub async fn change_password(
    current_password: Secret,
    new_password: Secret,
) -> Result<(), ApiError> {
    crate::server::handlers::change_password(current_password, new_password).await
}

/// Body of `GET /api/account/mfa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaStatusResponse {
    pub totp_enabled: bool,
}

/// Body of `POST /api/account/mfa/totp/setup`: the new secret (base32, for typing in), its
/// `otpauth://` URL, and that URL as a QR code (an SVG drawn by the server).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetupResponse {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

/// Body of `POST /api/account/mfa/totp/enable`: ten single-use codes, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

crate::model::debug_showing!(TotpSetupResponse {});
crate::model::debug_showing!(RecoveryCodesResponse {});

/// Whether the user has TOTP on.
#[server(prefix = "/api", endpoint = "account/mfa", input = GetUrl, output = Json, client = AuthClient)]
pub async fn mfa_status() -> Result<MfaStatusResponse, ApiError> {
    crate::server::handlers::mfa_status().await
}

/// Starts TOTP enrolment: a new secret, pending until confirmed.
#[server(prefix = "/api", endpoint = "account/mfa/totp/setup", input = Json, output = Json, client = AuthClient)]
pub async fn totp_setup() -> Result<TotpSetupResponse, ApiError> {
    crate::server::handlers::totp_setup().await
}

/// Confirms enrolment with a current code; returns the recovery codes.
#[server(prefix = "/api", endpoint = "account/mfa/totp/enable", input = Json, output = Json, client = AuthClient)]
pub async fn totp_enable(code: Secret) -> Result<RecoveryCodesResponse, ApiError> {
    crate::server::handlers::totp_enable(code).await
}

/// Turns TOTP off: the password and a current code (or a recovery code).
#[server(prefix = "/api", endpoint = "account/mfa/totp/disable", input = Json, output = NoContent, client = AuthClient)]
pub async fn totp_disable(password: Secret, code: Secret) -> Result<(), ApiError> {
    crate::server::handlers::totp_disable(password, code).await
}

/// Body of `GET /api/account/profile` (`created_at` in Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileResponse {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub role: crate::model::Role,
    pub created_at: i64,
}

/// One session in a data export, live or ended (no token material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedSession {
    pub session_id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub ip: Option<String>,
    pub last_ip: Option<String>,
    pub user_agent: Option<String>,
    pub refresh_count: i64,
}

/// Body of `GET /api/account/export`: everything stored about the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportResponse {
    pub profile: ProfileResponse,
    pub sessions: Vec<ExportedSession>,
    /// The user's own audit events, newest first.
    pub events: Vec<crate::api::admin::EventView>,
}

/// The user's profile.
#[server(prefix = "/api", endpoint = "account/profile", input = GetUrl, output = Json, client = AuthClient)]
pub async fn profile() -> Result<ProfileResponse, ApiError> {
    crate::server::handlers::accounts::profile().await
}

/// Asks for a new address: a link to it (it changes once used), a notice to the old one.
#[server(prefix = "/api", endpoint = "account/email", input = Json, output = Json, client = AuthClient)]
pub async fn change_email(email: String) -> Result<crate::api::signup::StatusResponse, ApiError> {
    crate::server::handlers::accounts::change_email(email).await
}

/// Deletes the account (the password again); every session ends, the audit log stays.
#[server(prefix = "/api", endpoint = "account/delete", input = Json, output = NoContent, client = AuthClient)]
pub async fn delete_account(password: Secret) -> Result<(), ApiError> {
    crate::server::handlers::accounts::delete_account(password).await
}

/// Everything stored about the user, as a JSON attachment.
#[server(prefix = "/api", endpoint = "account/export", input = GetUrl, output = Json, client = AuthClient)]
pub async fn export_account() -> Result<ExportResponse, ApiError> {
    crate::server::handlers::accounts::export_account().await
}
