//! The shared vocabulary: values that travel from the database through tokens to the browser.
//!
//! Each is one Rust type with one wire/storage name per variant (serde and, in server builds,
//! sqlx use the same `snake_case` names), so nothing downstream re-parses strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role, carried in the access token's `role` claim and stored in `users.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary account.
    User,
    /// An administrator.
    Admin,
}

impl Role {
    /// The name stored in the database and the token.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses `user` or `admin` (the CLI's `--role`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a session (refresh-token family) was ended before its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// The user logged out.
    Logout,
    /// A rotated refresh token came back after the grace window: presumed stolen.
    ReuseDetected,
    /// An administrator ended it.
    Admin,
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Correct password; a session started.
    LoginSuccess,
    /// Wrong password or unknown user.
    LoginFailure,
    /// A login refused because of too many failures.
    LoginThrottled,
    /// A refresh token was exchanged for a new one.
    Refresh,
    /// A rotated refresh token was presented after the grace window; its family was revoked.
    ReuseDetected,
    /// A session was ended by its user.
    Logout,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_stored_names() {
        for role in [Role::User, Role::Admin] {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(
            serde_json::to_value(RevokeReason::ReuseDetected).unwrap(),
            "reuse_detected"
        );
        assert_eq!(
            serde_json::to_value(EventKind::LoginThrottled).unwrap(),
            "login_throttled"
        );
    }
}
