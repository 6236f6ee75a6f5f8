//! The one error type of the JSON API, shared by the server (which answers with it) and the
//! browser (which decodes it from error responses).
//!
//! Every error body is `{"error": <stable code>, "message": <human text>}`; a throttled login
//! also carries `retry_after` (seconds, same as the `Retry-After` header).

use http::StatusCode;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable, machine-readable error codes. Clients branch on these, never on `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Wrong username or password (the two are never told apart).
    InvalidCredentials,
    /// Too many failed logins for this username; see `retry_after`.
    TooManyAttempts,
    /// The refresh cookie is missing, unknown, expired, revoked or was reused.
    InvalidRefreshToken,
    /// No `Authorization: Bearer` header.
    MissingToken,
    /// The access token is malformed, forged, or signed with another algorithm.
    InvalidToken,
    /// The access token was genuine but its `exp` has passed: refresh and retry.
    TokenExpired,
    /// Cross-site request to a state-changing endpoint (CSRF defence), or a role that does not
    /// allow the call (an admin endpoint called by a `user`).
    Forbidden,
    /// The right password, but an administrator locked the account.
    AccountLocked,
    /// The current password given to change it is wrong.
    WrongPassword,
    /// A sensitive change needs a recent authentication: `POST /api/reauth`, then retry.
    ReauthRequired,
    /// A new password that breaks the rules (length, not the username).
    WeakPassword,
    /// The change would leave no active administrator.
    LastAdmin,
    /// A TOTP or recovery code that is wrong, expired or already used.
    InvalidCode,
    /// The login's second-step challenge is unknown, expired, used or out of attempts.
    InvalidChallenge,
    /// A second factor is already enabled.
    MfaAlreadyEnabled,
    /// No second factor is enabled.
    MfaNotEnabled,
    /// Sign-up is not open (`SIGNUP_MODE`), or needs an invitation.
    SignupClosed,
    /// A new account's username is taken (usernames are public; addresses never are).
    UsernameTaken,
    /// A mail link (verification, reset, invitation) that is unknown, used or expired.
    InvalidLink,
    /// The right password for an account whose address is not verified yet.
    EmailNotVerified,
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is JSON but not the expected shape (missing or mistyped fields).
    InvalidRequest,
    /// The body is larger than the API accepts.
    PayloadTooLarge,
    /// The request is not `Content-Type: application/json`.
    UnsupportedMediaType,
    /// No API endpoint at this path.
    NotFound,
    /// The endpoint exists but not for this HTTP method.
    MethodNotAllowed,
    /// The server is saturated (password hashing, or too many requests at once); retry after
    /// `retry_after` seconds.
    ServerBusy,
    /// The request took longer than the server allows.
    RequestTimeout,
    /// Something failed on the server; details are in the server log, never in the response.
    Internal,
    /// The browser could not reach the server (network down, timeout). Never sent by the server.
    ServerUnreachable,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson => StatusCode::BAD_REQUEST,
            Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::MissingToken
            | Self::InvalidToken
            | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::AccountLocked
            | Self::WrongPassword
            | Self::ReauthRequired
            | Self::SignupClosed
            | Self::EmailNotVerified => StatusCode::FORBIDDEN,
            Self::InvalidLink => StatusCode::BAD_REQUEST,
            Self::UsernameTaken => StatusCode::CONFLICT,
            Self::WeakPassword | Self::InvalidCode => StatusCode::UNPROCESSABLE_ENTITY,
            Self::LastAdmin | Self::MfaAlreadyEnabled | Self::MfaNotEnabled => StatusCode::CONFLICT,
            Self::InvalidChallenge => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidRequest => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Self::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServerUnreachable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code's wire name, e.g. `"token_expired"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::TooManyAttempts => "too_many_attempts",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::Forbidden => "forbidden",
            Self::AccountLocked => "account_locked",
            Self::WrongPassword => "wrong_password",
            Self::ReauthRequired => "reauth_required",
            Self::WeakPassword => "weak_password",
            Self::LastAdmin => "last_admin",
            Self::InvalidCode => "invalid_code",
            Self::InvalidChallenge => "invalid_challenge",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaNotEnabled => "mfa_not_enabled",
            Self::SignupClosed => "signup_closed",
            Self::UsernameTaken => "username_taken",
            Self::InvalidLink => "invalid_link",
            Self::EmailNotVerified => "email_not_verified",
            Self::MalformedJson => "malformed_json",
            Self::InvalidRequest => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ServerBusy => "server_busy",
            Self::RequestTimeout => "request_timeout",
            Self::Internal => "internal",
            Self::ServerUnreachable => "server_unreachable",
        }
    }

    /// Whether a bearer-token client should refresh its access token and retry once.
    pub fn is_refreshable(self) -> bool {
        matches!(self, Self::TokenExpired | Self::InvalidToken)
    }

    fn default_message(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "Wrong username or password.",
            Self::TooManyAttempts => "Too many failed attempts. Please wait before trying again.",
            Self::InvalidRefreshToken => "Your session has expired. Please log in again.",
            Self::MissingToken => "This endpoint needs an `Authorization: Bearer` access token.",
            Self::InvalidToken => "The access token is not valid.",
            Self::TokenExpired => "The access token has expired.",
            Self::Forbidden => "Cross-site requests are not allowed.",
            Self::AccountLocked => "This account is locked. Please contact an administrator.",
            Self::WrongPassword => "The current password is wrong.",
            Self::ReauthRequired => "Please confirm it is you: enter your password again.",
            Self::WeakPassword => "The new password does not meet the rules.",
            Self::LastAdmin => "That would leave no active administrator.",
            Self::InvalidCode => {
                "That code is not valid. Check the time on your device and try again."
            }
            Self::InvalidChallenge => "The login has expired. Please enter your password again.",
            Self::MfaAlreadyEnabled => "Two-factor authentication is already on.",
            Self::MfaNotEnabled => "Two-factor authentication is not on.",
            Self::SignupClosed => "Sign-up is closed here. Ask an administrator for an invitation.",
            Self::UsernameTaken => "That username is taken. Please choose another.",
            Self::InvalidLink => {
                "This link is not valid: it may have been used already or expired. Ask for a new one."
            }
            Self::EmailNotVerified => {
                "Please verify your e-mail address first: follow the link we sent you."
            }
            Self::MalformedJson => "The request body is not valid JSON.",
            Self::InvalidRequest => "The request body does not have the expected fields.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::UnsupportedMediaType => {
                "Send the request body as `Content-Type: application/json`."
            }
            Self::NotFound => "There is no API endpoint at this path.",
            Self::MethodNotAllowed => "This endpoint does not accept that HTTP method.",
            Self::ServerBusy => "The server is busy. Please try again in a moment.",
            Self::RequestTimeout => "The request took too long.",
            Self::Internal => "Something went wrong on the server.",
            Self::ServerUnreachable => {
                "The server cannot be reached. Check your connection and try again."
            }
        }
    }
}

/// An API error: the body of every 4xx/5xx answer of `/api/*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable code, e.g. `invalid_credentials`.
    pub error: ErrorCode,
    /// Text for humans; may change between versions.
    pub message: String,
    /// Seconds until the request may be retried (with `too_many_attempts` and `server_busy`;
    /// the same as the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the code's standard message.
    pub fn new(error: ErrorCode) -> Self {
        Self {
            error,
            message: error.default_message().to_owned(),
            retry_after: None,
        }
    }

    /// An error with a message of its own (validation details, for example).
    pub fn with_message(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A throttled login that may be retried after `seconds`.
    pub fn too_many_attempts(seconds: u64) -> Self {
        Self {
            error: ErrorCode::TooManyAttempts,
            message: format!("Too many failed attempts. Try again in {seconds} seconds."),
            retry_after: Some(seconds),
        }
    }

    /// The server is saturated: retry after `seconds`.
    pub fn server_busy(seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(ErrorCode::ServerBusy)
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    /// Maps the framework's own failures onto stable codes: bad arguments are the caller's fault
    /// (422), a failed request means the server was not reached, anything else is internal.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => {
                Self::with_message(ErrorCode::InvalidRequest, clean_serde_message(&detail))
            }
            ServerFnErrorErr::Deserialization(detail) if cfg!(feature = "ssr") => {
                Self::with_message(ErrorCode::InvalidRequest, clean_serde_message(&detail))
            }
            ServerFnErrorErr::Request(_) => Self::new(ErrorCode::ServerUnreachable),
            _ => Self::new(ErrorCode::Internal),
        }
    }
}

/// serde's messages say which field is missing or mistyped, which helps API users; strip the
/// "at line 1 column 17" suffix that only makes sense to a parser.
fn clean_serde_message(detail: &str) -> String {
    let text = detail.split(" at line ").next().unwrap_or(detail).trim();
    if text.is_empty() {
        ErrorCode::InvalidRequest.default_message().to_owned()
    } else {
        format!("Invalid request body: {text}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_have_the_documented_shape() {
        let body = serde_json::to_value(ApiError::new(ErrorCode::TokenExpired)).unwrap();
        assert_eq!(body["error"], "token_expired");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body.get("retry_after").is_none());

        let throttled = serde_json::to_value(ApiError::too_many_attempts(42)).unwrap();
        assert_eq!(throttled["error"], "too_many_attempts");
        assert_eq!(throttled["retry_after"], 42);
    }

    #[test]
    fn wire_names_match_serde_names() {
        for code in [
            ErrorCode::InvalidCredentials,
            ErrorCode::TooManyAttempts,
            ErrorCode::InvalidRefreshToken,
            ErrorCode::MissingToken,
            ErrorCode::InvalidToken,
            ErrorCode::TokenExpired,
            ErrorCode::Forbidden,
            ErrorCode::AccountLocked,
            ErrorCode::WrongPassword,
            ErrorCode::WeakPassword,
            ErrorCode::LastAdmin,
            ErrorCode::InvalidCode,
            ErrorCode::InvalidChallenge,
            ErrorCode::MfaAlreadyEnabled,
            ErrorCode::MfaNotEnabled,
            ErrorCode::SignupClosed,
            ErrorCode::UsernameTaken,
            ErrorCode::InvalidLink,
            ErrorCode::EmailNotVerified,
            ErrorCode::MalformedJson,
            ErrorCode::InvalidRequest,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::ServerBusy,
            ErrorCode::RequestTimeout,
            ErrorCode::Internal,
            ErrorCode::ServerUnreachable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn argument_errors_become_422_without_parser_positions() {
        let err = ApiError::from_server_fn_error(ServerFnErrorErr::Args(
            "missing field `password` at line 1 column 20".into(),
        ));
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err.message,
            "Invalid request body: missing field `password`."
        );
    }
}
