//! Accounts: the rules for usernames and passwords, and creating users (the CLI and the
//! development demo users go through the same [`create_user`]).

use crate::auth::{password, unix_now, AuthError};
use crate::db::{Db, DbError};
use crate::model::Role;
use std::fmt;

/// Longest username accepted, in characters.
pub const MAX_USERNAME_LEN: usize = 64;
/// Longest password accepted, in bytes: argon2 would take any length; this bounds the work a
/// single request can cause.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Demo accounts created in development so the app can be tried at once.
pub const DEMO_USERS: [(&str, &str, Role); 2] = [
    ("user", "user-secret-42", Role::User),
    ("admin", "admin-secret-42", Role::Admin),
];

/// A username that follows the rules: 1 to [`MAX_USERNAME_LEN`] characters, no white space or
/// control characters (surrounding white space is trimmed first). Matching is case-insensitive
/// in the database; the value keeps the case it was typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

/// Which rule a username broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("the username is empty")]
    Empty,
    #[error("the username is longer than 64 characters")]
    TooLong,
    #[error("the username must not contain spaces or control characters")]
    BadCharacter,
}

impl Username {
    /// Checks `raw` against the rules.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(UsernameError::Empty);
        }
        if name.chars().count() > MAX_USERNAME_LEN {
            return Err(UsernameError::TooLong);
        }
        if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hashes `password` (argon2id, off the async runtime) and adds the account.
pub async fn create_user(
    db: &Db,
    username: &Username,
    password: String,
    role: Role,
) -> Result<i64, AuthError> {
    let phc = password::hash_off_runtime(password)
        .await
        .map_err(|e| AuthError::Crypto(format!("hashing a password: {e}")))?;
    match db
        .insert_user(username.as_str(), &phc, role, unix_now())
        .await
    {
        Ok(id) => Ok(id),
        Err(DbError::Conflict) => Err(AuthError::UsernameTaken),
        Err(e) => Err(e.into()),
    }
}

/// Creates the demo users that do not exist yet (development only).
pub async fn seed_demo_users(db: &Db) -> Result<(), AuthError> {
    for (name, pass, role) in DEMO_USERS {
        let username = Username::parse(name)?;
        if db.find_user(username.as_str()).await?.is_none() {
            create_user(db, &username, pass.to_owned(), role).await?;
            tracing::info!(username = name, %role, "created demo user");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_checked() {
        assert_eq!(Username::parse("  carol ").unwrap().as_str(), "carol");
        assert_eq!(Username::parse("   "), Err(UsernameError::Empty));
        assert_eq!(
            Username::parse(&"x".repeat(MAX_USERNAME_LEN + 1)),
            Err(UsernameError::TooLong)
        );
        assert!(Username::parse(&"é".repeat(MAX_USERNAME_LEN)).is_ok());
        for bad in ["a b", "a\nb", "a\u{0}b", "a\tb"] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::BadCharacter),
                "{bad:?}"
            );
        }
    }
}
