//! The admin API (bearer token with role `admin`; a `user` gets 403 `forbidden`). Every change
//! is an audit event naming the acting administrator.
//!
//! | endpoint                                 | request                   | success |
//! |------------------------------------------|---------------------------|---------|
//! | `GET /api/admin/users`                   | –                         | 200 [`UsersResponse`] |
//! | `POST /api/admin/users/lock`             | `{"username","locked"}`   | 204 (409 `last_admin`) |
//! | `POST /api/admin/users/role`             | `{"username","role"}`     | 204 (409 `last_admin`) |
//! | `POST /api/admin/users/revoke-sessions`  | `{"username"}`            | 204 |
//! | `POST /api/admin/users/mfa-reset`        | `{"username"}`            | 204 (409 `mfa_not_enabled`) |
//! | `GET /api/admin/events?cursor=&username=&kind=` | –                  | 200 [`EventsResponse`] |
//! | `POST /api/admin/invitations`            | `{"email","role"}`        | 201 [`InvitationView`] + the invitation mail |
//! | `GET /api/admin/invitations`             | –                         | 200 [`InvitationsResponse`] (pending) |
//! | `POST /api/admin/invitations/revoke`     | `{"id"}`                  | 204 |
//! | `GET /api/admin/mail/failed`             | –                         | 200 [`FailedMailResponse`] |
//! | `POST /api/admin/mail/retry`             | `{"id"}`                  | 204 |

use crate::api::{codec::NoContent, ApiError};
use crate::client::AuthClient;
use crate::model::{EventKind, Role};
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

/// An account (times are Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub role: Role,
    pub locked: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Live sessions.
    pub sessions: u32,
    /// TOTP is on.
    pub totp_enabled: bool,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Body of `GET /api/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersResponse {
    pub users: Vec<UserView>,
}

/// One audit event (`at` in Unix seconds; the browser shows local time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub at: i64,
    pub kind: EventKind,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Who did it, when not the user themself (an administrator, `cli`).
    pub actor: Option<String>,
    /// A word saying more (which notice, how an account was opened).
    #[serde(default)]
    pub detail: Option<String>,
}

/// Body of `GET /api/admin/events`: 50 events, newest first, and the cursor of the next page
/// (`null` on the last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsResponse {
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

/// Every account.
#[server(prefix = "/api", endpoint = "admin/users", input = GetUrl, output = Json, client = AuthClient)]
pub async fn admin_users() -> Result<UsersResponse, ApiError> {
    crate::server::handlers::admin_users().await
}

/// Locks (ending its sessions) or unlocks an account.
#[server(prefix = "/api", endpoint = "admin/users/lock", input = Json, output = NoContent, client = AuthClient)]
pub async fn lock_user(username: String, locked: bool) -> Result<(), ApiError> {
    crate::server::handlers::lock_user(username, locked).await
}

/// Changes an account's role (ending its sessions, so the change applies at once).
#[server(prefix = "/api", endpoint = "admin/users/role", input = Json, output = NoContent, client = AuthClient)]
pub async fn set_user_role(username: String, role: Role) -> Result<(), ApiError> {
    crate::server::handlers::set_user_role(username, role).await
}

/// Ends every session of an account.
#[server(prefix = "/api", endpoint = "admin/users/revoke-sessions", input = Json, output = NoContent, client = AuthClient)]
pub async fn revoke_user_sessions(username: String) -> Result<(), ApiError> {
    crate::server::handlers::revoke_user_sessions(username).await
}

/// One page of the audit log, newest first; optionally one user's or one kind's events.
#[server(prefix = "/api", endpoint = "admin/events", input = GetUrl, output = Json, client = AuthClient)]
pub async fn admin_events(
    cursor: Option<String>,
    username: Option<String>,
    kind: Option<String>,
) -> Result<EventsResponse, ApiError> {
    crate::server::handlers::admin_events(cursor, username, kind).await
}

/// Removes an account's second factor (its sessions end).
#[server(prefix = "/api", endpoint = "admin/users/mfa-reset", input = Json, output = NoContent, client = AuthClient)]
pub async fn reset_user_mfa(username: String) -> Result<(), ApiError> {
    crate::server::handlers::reset_user_mfa(username).await
}

/// An invitation (times in Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// Body of `GET /api/admin/invitations`: the pending ones, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationsResponse {
    pub invitations: Vec<InvitationView>,
}

/// A mail that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedMailView {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// Body of `GET /api/admin/mail/failed`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedMailResponse {
    pub mails: Vec<FailedMailView>,
}

/// Invites an address to open one account with a role.
#[server(prefix = "/api", endpoint = "admin/invitations", input = Json, output = Json, client = AuthClient)]
pub async fn invite(email: String, role: Role) -> Result<InvitationView, ApiError> {
    crate::server::handlers::accounts::invite(email, role).await
}

/// The pending invitations.
#[server(prefix = "/api", endpoint = "admin/invitations", input = GetUrl, output = Json, client = AuthClient)]
pub async fn invitations() -> Result<InvitationsResponse, ApiError> {
    crate::server::handlers::accounts::invitations().await
}

/// Withdraws a pending invitation.
#[server(prefix = "/api", endpoint = "admin/invitations/revoke", input = Json, output = NoContent, client = AuthClient)]
pub async fn revoke_invitation(id: String) -> Result<(), ApiError> {
    crate::server::handlers::accounts::revoke_invitation(id).await
}

/// The mails that could not be delivered.
#[server(prefix = "/api", endpoint = "admin/mail/failed", input = GetUrl, output = Json, client = AuthClient)]
pub async fn failed_mail() -> Result<FailedMailResponse, ApiError> {
    crate::server::handlers::accounts::failed_mail().await
}

/// Queues a failed mail again.
#[server(prefix = "/api", endpoint = "admin/mail/retry", input = Json, output = NoContent, client = AuthClient)]
pub async fn retry_mail(id: i64) -> Result<(), ApiError> {
    crate::server::handlers::accounts::retry_mail(id).await
}
