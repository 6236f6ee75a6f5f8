//! Opening and recovering accounts without being logged in (no bearer token).
//!
//! | endpoint                     | request                                  | success |
//! |------------------------------|------------------------------------------|---------|
//! | `POST /api/signup`           | `{"username","email","password"}` (open) | 202 [`StatusResponse`] `verification_sent` |
//! | `POST /api/signup`           | `{"username","password","invite"}`       | 200 [`TokenResponse`] + cookie |
//! | `POST /api/email/verify`     | `{"token"}`                              | 204 |
//! | `POST /api/email/resend`     | `{"email"}`                              | 202 `verification_sent`, always |
//! | `POST /api/password/forgot`  | `{"email"}`                              | 202 `reset_sent`, always (404 when mail is off) |
//! | `POST /api/password/reset`   | `{"token","new_password"}`               | 204, every session ended |
//!
//! No answer tells whether an address has an account.

use crate::api::{codec::NoContent, ApiError, Secret, TokenResponse};
use crate::client::PublicClient;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// Body of an accepted request whose outcome arrives by mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// `verification_sent` or `reset_sent`.
    pub status: String,
}

impl StatusResponse {
    pub fn verification_sent() -> Self {
        Self {
            status: "verification_sent".into(),
        }
    }

    pub fn reset_sent() -> Self {
        Self {
            status: "reset_sent".into(),
        }
    }
}

/// Body of `POST /api/signup`: check your mail (open sign-up), or logged in (an invitation).
/// Read back through [`SignupWire`], like `LoginResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, try_from = "SignupWire")]
pub enum SignupResponse {
    Token(TokenResponse),
    Accepted(StatusResponse),
}

/// Every field either body of [`SignupResponse`] can have.
#[derive(Deserialize)]
struct SignupWire {
    status: Option<String>,
    jwt: Option<String>,
    expires_in: Option<u64>,
    username: Option<String>,
    role: Option<crate::model::Role>,
}

impl TryFrom<SignupWire> for SignupResponse {
    type Error = &'static str;

    fn try_from(wire: SignupWire) -> Result<Self, Self::Error> {
        match wire {
            SignupWire {
                status: Some(status),
                ..
            } => Ok(Self::Accepted(StatusResponse { status })),
            SignupWire {
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
            _ => Err("neither a token response nor a status"),
        }
    }
}

/// Opens an account (see the table above).
#[server(prefix = "/api", endpoint = "signup", input = Json, output = Json, client = PublicClient)]
pub async fn signup(
    username: String,
    password: Secret,
    email: Option<String>,
    invite: Option<Secret>,
) -> Result<SignupResponse, ApiError> {
    crate::server::handlers::accounts::signup(username, password, email, invite).await
}

/// Uses a verification link's token: the address is now the account's, verified.
#[server(prefix = "/api", endpoint = "email/verify", input = Json, output = NoContent, client = PublicClient)]
pub async fn verify_email(token: Secret) -> Result<(), ApiError> {
    crate::server::handlers::accounts::verify_email(token).await
}

/// Sends the verification link again (if the address has an unverified account).
#[server(prefix = "/api", endpoint = "email/resend", input = Json, output = Json, client = PublicClient)]
pub async fn resend_verification(email: String) -> Result<StatusResponse, ApiError> {
    crate::server::handlers::accounts::resend_verification(email).await
}

/// Mails a password-reset link (if the address has an account).
#[server(prefix = "/api", endpoint = "password/forgot", input = Json, output = Json, client = PublicClient)]
pub async fn forgot_password(email: String) -> Result<StatusResponse, ApiError> {
    crate::server::handlers::accounts::forgot_password(email).await
}

/// Sets a new password with a reset link's token; every session of the account ends.
#[server(prefix = "/api", endpoint = "password/reset", input = Json, output = NoContent, client = PublicClient)]
pub async fn reset_password(token: Secret, new_password: Secret) -> Result<(), ApiError> {
    crate::server::handlers::accounts::reset_password(token, new_password).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signup_responses_read_back_as_the_variant_they_were() {
        for response in [
            SignupResponse::Accepted(StatusResponse::verification_sent()),
            SignupResponse::Token(TokenResponse {
                jwt: "a.b.c".into(),
                expires_in: 900,
                username: "carol".into(),
                role: crate::model::Role::User,
            }),
        ] {
            let text = serde_json::to_string(&response).unwrap();
            assert_eq!(
                serde_json::from_str::<SignupResponse>(&text).unwrap(),
                response
            );
        }
        assert_eq!(
            serde_json::to_value(SignupResponse::Accepted(StatusResponse::reset_sent())).unwrap(),
            serde_json::json!({"status": "reset_sent"})
        );
    }
}
