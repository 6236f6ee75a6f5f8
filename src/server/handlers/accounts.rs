//! Handlers of the accounts people open and recover themselves (`api::signup`), of the profile
//! endpoints of `api::account`, and of the admin's invitations and failed mails.

use super::{admin, answer_signed_in, caller, event_view, recent_admin, recent_caller, set_status};
use crate::api::account::{ExportResponse, ExportedSession, ProfileResponse};
use crate::api::admin::{FailedMailResponse, FailedMailView, InvitationView, InvitationsResponse};
use crate::api::signup::{SignupResponse, StatusResponse};
use crate::api::{ApiError, Secret};
use crate::auth::profile::Profile;
use crate::auth::signup::{SignUpRequest, SignedUp};
use crate::model::Role;
use crate::server::extract::{extract, state, ClientInfo};
use http::{header, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// `POST /api/signup`.
pub async fn signup(
    username: String,
    password: Secret,
    email: Option<String>,
    invite: Option<Secret>,
) -> Result<SignupResponse, ApiError> {
    let state = state()?;
    let client: ClientInfo = extract().await?;
    let invite = invite.map(Secret::expose);
    let request = SignUpRequest {
        username: &username,
        email: email.as_deref(),
        password: password.expose(),
        invite: invite.as_deref(),
    };
    match state.auth.sign_up(request, &client).await? {
        SignedUp::VerificationSent => {
            set_status(StatusCode::ACCEPTED);
            Ok(SignupResponse::Accepted(StatusResponse::verification_sent()))
        }
        SignedUp::SignedIn(signed_in) => Ok(SignupResponse::Token(answer_signed_in(*signed_in))),
    }
}

/// `POST /api/email/verify`.
pub async fn verify_email(token: Secret) -> Result<(), ApiError> {
    let state = state()?;
    let client: ClientInfo = extract().await?;
    state.auth.verify_email(&token.expose(), &client).await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `POST /api/email/resend`.
pub async fn resend_verification(email: String) -> Result<StatusResponse, ApiError> {
    let state = state()?;
    let client: ClientInfo = extract().await?;
    state.auth.resend_verification(&email, &client).await?;
    set_status(StatusCode::ACCEPTED);
    Ok(StatusResponse::verification_sent())
}

/// `POST /api/password/forgot`.
pub async fn forgot_password(email: String) -> Result<StatusResponse, ApiError> {
    let state = state()?;
    let client: ClientInfo = extract().await?;
    state.auth.forgot_password(&email, &client).await?;
    set_status(StatusCode::ACCEPTED);
    Ok(StatusResponse::reset_sent())
}

/// `POST /api/password/reset`.
pub async fn reset_password(token: Secret, new_password: Secret) -> Result<(), ApiError> {
    let state = state()?;
    let client: ClientInfo = extract().await?;
    state
        .auth
        .reset_password(&token.expose(), new_password.expose(), &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

fn profile_response(profile: Profile) -> ProfileResponse {
    ProfileResponse {
        username: profile.username,
        email: profile.email,
        email_verified: profile.email_verified,
        role: profile.role,
        created_at: profile.created_at,
    }
}

/// `GET /api/account/profile`.
pub async fn profile() -> Result<ProfileResponse, ApiError> {
    let (state, caller) = (state()?, caller().await?);
    Ok(profile_response(state.auth.profile(&caller).await?))
}

/// `POST /api/account/email`.
pub async fn change_email(email: String) -> Result<StatusResponse, ApiError> {
    let (state, caller) = (state()?, recent_caller().await?);
    let client: ClientInfo = extract().await?;
    state.auth.change_email(&caller, &email, &client).await?;
    set_status(StatusCode::ACCEPTED);
    Ok(StatusResponse::verification_sent())
}

/// `POST /api/account/delete`.
pub async fn delete_account(password: Secret) -> Result<(), ApiError> {
    let (state, caller) = (state()?, recent_caller().await?);
    let client: ClientInfo = extract().await?;
    state
        .auth
        .delete_account(&caller, password.expose(), &client)
        .await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `GET /api/account/export`.
pub async fn export_account() -> Result<ExportResponse, ApiError> {
    let (state, caller) = (state()?, caller().await?);
    let client: ClientInfo = extract().await?;
    let export = state.auth.export(&caller, &client).await?;
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"jwt-auth-export.json\""),
        );
        response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(ExportResponse {
        profile: profile_response(export.profile),
        sessions: export
            .sessions
            .into_iter()
            .map(|s| ExportedSession {
                session_id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                revoked_at: s.revoked_at,
                revoked_reason: s.revoked_reason,
                ip: s.ip,
                last_ip: s.last_ip,
                user_agent: s.user_agent,
                refresh_count: s.refresh_count,
            })
            .collect(),
        events: export.events.into_iter().map(event_view).collect(),
    })
}

/// `POST /api/admin/invitations`.
pub async fn invite(email: String, role: Role) -> Result<InvitationView, ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    let client: ClientInfo = extract().await?;
    let invitation = state.auth.invite(&admin, &email, role, &client).await?;
    set_status(StatusCode::CREATED);
    Ok(InvitationView {
        id: invitation.id,
        email: invitation.email,
        role: invitation.role,
        expires_at: invitation.expires_at,
        created_at: None,
        created_by: None,
    })
}

/// `GET /api/admin/invitations`.
pub async fn invitations() -> Result<InvitationsResponse, ApiError> {
    let (state, admin) = (state()?, admin().await?);
    let pending = state.auth.pending_invitations(&admin).await?;
    Ok(InvitationsResponse {
        invitations: pending
            .into_iter()
            .map(|i| InvitationView {
                id: i.id,
                email: i.email,
                role: i.role,
                expires_at: i.expires_at,
                created_at: Some(i.created_at),
                created_by: i.created_by,
            })
            .collect(),
    })
}

/// `POST /api/admin/invitations/revoke`.
pub async fn revoke_invitation(id: String) -> Result<(), ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    let client: ClientInfo = extract().await?;
    state.auth.revoke_invitation(&admin, &id, &client).await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}

/// `GET /api/admin/mail/failed`.
pub async fn failed_mail() -> Result<FailedMailResponse, ApiError> {
    let (state, admin) = (state()?, admin().await?);
    let mails = state.auth.failed_mail(&admin).await?;
    Ok(FailedMailResponse {
        mails: mails
            .into_iter()
            .map(|m| FailedMailView {
                id: m.id,
                kind: m.kind,
                recipient: m.recipient,
                attempts: m.attempts,
                last_error: m.last_error,
                created_at: m.created_at,
            })
            .collect(),
    })
}

/// `POST /api/admin/mail/retry`.
pub async fn retry_mail(id: i64) -> Result<(), ApiError> {
    let (state, admin) = (state()?, recent_admin().await?);
    state.auth.retry_mail(&admin, id).await?;
    set_status(StatusCode::NO_CONTENT);
    Ok(())
}
