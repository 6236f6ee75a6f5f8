//! The one place where the security core's errors become the API's error contract.

use crate::api::{ApiError, ErrorCode};
use crate::auth::{accounts::MAX_PASSWORD_LEN, jwt::TokenError, AuthError};
use axum::response::{IntoResponse, Response};

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::MissingCredentials => ApiError::with_message(
                ErrorCode::InvalidRequest,
                "Enter a username and a password.",
            ),
            AuthError::InvalidCredentials => ApiError::new(ErrorCode::InvalidCredentials),
            AuthError::Throttled { retry_after } => ApiError::too_many_attempts(retry_after),
            AuthError::Busy => ApiError::server_busy(1),
            AuthError::PasswordTooLong => ApiError::with_message(
                ErrorCode::InvalidRequest,
                format!("The password is longer than {MAX_PASSWORD_LEN} bytes."),
            ),
            AuthError::RefreshRefused(_) => ApiError::new(ErrorCode::InvalidRefreshToken),
            AuthError::MissingToken => ApiError::new(ErrorCode::MissingToken),
            AuthError::Token(TokenError::Expired) => ApiError::new(ErrorCode::TokenExpired),
            AuthError::Token(TokenError::Invalid) => ApiError::new(ErrorCode::InvalidToken),
            AuthError::InvalidUsername(rule) => ApiError::with_message(
                ErrorCode::InvalidRequest,
                format!("Invalid username: {rule}."),
            ),
            AuthError::UsernameTaken => ApiError::new(ErrorCode::UsernameTaken),
            AuthError::SignupClosed => ApiError::new(ErrorCode::SignupClosed),
            AuthError::InvalidLink => ApiError::new(ErrorCode::InvalidLink),
            AuthError::EmailNotVerified => ApiError::new(ErrorCode::EmailNotVerified),
            // Without mail the flow does not exist here: the same answer as an unknown path.
            AuthError::MailNotConfigured => ApiError::with_message(
                ErrorCode::NotFound,
                "Password reset by e-mail is not available on this server.",
            ),
            AuthError::InvalidEmail(why) => ApiError::with_message(ErrorCode::InvalidRequest, why),
            AuthError::AccountLocked => ApiError::new(ErrorCode::AccountLocked),
            AuthError::WrongPassword => ApiError::new(ErrorCode::WrongPassword),
            AuthError::ReauthRequired => ApiError::new(ErrorCode::ReauthRequired),
            AuthError::WeakPassword(rule) => ApiError::with_message(ErrorCode::WeakPassword, rule),
            AuthError::NotFound => ApiError::with_message(ErrorCode::NotFound, "Not found."),
            AuthError::Forbidden => {
                ApiError::with_message(ErrorCode::Forbidden, "You need the admin role.")
            }
            AuthError::LastAdmin => ApiError::with_message(
                ErrorCode::LastAdmin,
                "That would leave no active administrator: make another account admin first.",
            ),
            AuthError::InvalidCode => ApiError::new(ErrorCode::InvalidCode),
            AuthError::InvalidChallenge => ApiError::new(ErrorCode::InvalidChallenge),
            AuthError::MfaAlreadyEnabled => ApiError::new(ErrorCode::MfaAlreadyEnabled),
            AuthError::MfaNotEnabled => ApiError::new(ErrorCode::MfaNotEnabled),
            AuthError::InvalidInput(message) => {
                ApiError::with_message(ErrorCode::InvalidRequest, message)
            }
            AuthError::Database(e) => internal("database", e),
            AuthError::Crypto(e) => internal("crypto", e),
        }
    }
}

/// Logs a server-side failure and turns it into an opaque 500: details stay in the log.
pub fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "{context}");
    ApiError::new(ErrorCode::Internal)
}

impl From<std::convert::Infallible> for ApiError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// Extractors and plain axum handlers answer with the same JSON error as server functions.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::server::api_boundary::error_response(&self)
    }
}
