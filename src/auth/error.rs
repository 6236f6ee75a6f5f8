//! `AuthError`: every way the security core can refuse or fail, in its own words. The server
//! maps each variant to an API error code and status in one place (`server::error`).

use crate::auth::{accounts::UsernameError, jwt::TokenError, password::HashError};
use crate::db::DbError;

/// Why an authentication step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A login without a username or a password.
    #[error("enter a username and a password")]
    MissingCredentials,
    /// Wrong username or password (never told apart).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Too many failed logins (or attempts from one address); retry after this many seconds.
    #[error("too many failed attempts; retry in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// A login password longer than any account can have.
    #[error(
        "the password is longer than {} bytes",
        crate::auth::accounts::MAX_PASSWORD_LEN
    )]
    PasswordTooLong,
    /// Every password-hashing slot stayed busy: refused before any hashing.
    #[error("the server is busy hashing passwords")]
    Busy,
    /// The refresh token cannot continue a session.
    #[error("refresh refused: {0}")]
    RefreshRefused(RefreshRefusal),
    /// A protected call without a bearer token.
    #[error("no bearer token")]
    MissingToken,
    /// A bearer token that is expired or not valid.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A new account's name is taken.
    #[error("a user of that name already exists")]
    UsernameTaken,
    /// A username that breaks the rules (see `accounts::Username`).
    #[error(transparent)]
    InvalidUsername(#[from] UsernameError),
    /// A correct password for a locked account.
    #[error("the account is locked")]
    AccountLocked,
    /// The current password, when changing it (or re-authenticating), was wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A sensitive change, and the access token's authentication is not recent enough.
    #[error("this needs a recent authentication")]
    ReauthRequired,
    /// A new password that breaks the rules (see `password_rules`); says why, in words a
    /// person can act on.
    #[error("{0}")]
    WeakPassword(String),
    /// Sign-up is closed, or needs an invitation (`SIGNUP_MODE`).
    #[error("sign-up is closed")]
    SignupClosed,
    /// A mail link that is unknown, used or expired.
    #[error("the link is not valid")]
    InvalidLink,
    /// The right password for an account whose address is not verified yet.
    #[error("the e-mail address is not verified")]
    EmailNotVerified,
    /// Mail is not configured, so this flow (a password reset) is not offered.
    #[error("mail is not configured")]
    MailNotConfigured,
    /// An e-mail address that is not one.
    #[error("{0}")]
    InvalidEmail(&'static str),
    /// A session or account that does not exist (or is not the caller's to see).
    #[error("not found")]
    NotFound,
    /// The caller's role does not allow this.
    #[error("this needs the admin role")]
    Forbidden,
    /// The change would leave no active administrator.
    #[error("this would leave no active administrator")]
    LastAdmin,
    /// A TOTP or recovery code that is wrong, expired or already used.
    #[error("the code is not valid")]
    InvalidCode,
    /// A second-step challenge that is unknown, expired, used or out of attempts.
    #[error("the login challenge is not valid")]
    InvalidChallenge,
    /// Setting up a second factor while one is enabled.
    #[error("a second factor is already enabled")]
    MfaAlreadyEnabled,
    /// Turning off or resetting a second factor that is not there.
    #[error("no second factor is enabled")]
    MfaNotEnabled,
    /// A request parameter that is not valid (a cursor, a filter).
    #[error("{0}")]
    InvalidInput(String),
    /// Storage failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Hashing or signing failed: never the caller's fault.
    #[error("{0}")]
    Crypto(String),
}

/// Why a refresh token was refused. The client only ever learns `invalid_refresh_token`; the
/// log learns which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    /// Missing, malformed, or not a token we issued.
    #[error("unknown refresh token")]
    Unknown,
    /// Past its absolute or idle expiry.
    #[error("refresh token expired")]
    Expired,
    /// Its family was revoked (logout or earlier theft).
    #[error("refresh token revoked")]
    Revoked,
    /// A rotated token reused after the grace window; the family has just been revoked.
    #[error("refresh token reused after rotation; family revoked")]
    ReuseDetected,
    /// The owner's account is locked.
    #[error("the account is locked")]
    AccountLocked,
}

impl From<HashError> for AuthError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            HashError::Failed => Self::Crypto("password hashing failed".into()),
        }
    }
}
