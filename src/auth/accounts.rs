//! Accounts: the rules for usernames and passwords, and creating users (the CLI and the
//! development demo users go through the same [`create_user`]).

use crate::auth::email::EmailAddress;
use crate::auth::password_rules::{Owner, PasswordRules};
use crate::auth::{password::PasswordHasher, Auth, AuthError};
use crate::db::{AccountChange, Actor, Db, DbError, NewEvent, NewUser, UsernameKey};
use crate::model::{EventKind, Role};
use std::fmt;

/// Longest username accepted, in characters.
pub const MAX_USERNAME_LEN: usize = 64;
pub use crate::auth::password_rules::MAX_PASSWORD_LEN;

/// Demo accounts created in development so the app can be tried at once.
pub const DEMO_USERS: [(&str, &str, Role); 2] = [
    ("user", "user-secret-42", Role::User),
    ("admin", "admin-secret-42", Role::Admin),
];

/// A username that follows the rules: 1 to [`MAX_USERNAME_LEN`] characters, no white space, no
/// control or format characters (Unicode Cc and Cf: zero-width spaces, bidirectional overrides,
/// which make two names look alike); surrounding white space is trimmed first. Names are
/// compared by their canonical key ([`UsernameKey`]); the value keeps the form it was typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

/// Which rule a username broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("the username is empty")]
    Empty,
    #[error("the username is longer than 64 characters")]
    TooLong,
    #[error("the username must not contain spaces, control or invisible formatting characters")]
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
        if name
            .chars()
            .any(|c| c.is_whitespace() || is_control_or_format(c))
        {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form names are compared in.
    pub fn key(&self) -> UsernameKey {
        UsernameKey::of(&self.0)
    }
}

/// Unicode General Category Cc (control) or Cf (format: U+200B, U+202E, U+FEFF, …).
fn is_control_or_format(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account to create from the command line.
#[derive(Debug, Clone, Copy)]
pub struct AccountSpec<'a> {
    pub username: &'a Username,
    /// The operator's word counts as verification.
    pub email: Option<&'a EmailAddress>,
    pub role: Role,
}

/// Checks `password` against `rules`, hashes it (argon2id, off the async runtime) and adds a
/// (non-demo) account at `now`, recorded as done by `actor`.
pub async fn create_user(
    db: &Db,
    hasher: &PasswordHasher,
    rules: &PasswordRules,
    actor: Actor<'_>,
    spec: AccountSpec<'_>,
    password: String,
    now: i64,
) -> Result<i64, AuthError> {
    let owner = Owner {
        username: spec.username.as_str(),
        email: spec.email.map(EmailAddress::as_str),
    };
    rules.check(&password, owner).await?;
    if let Some(email) = spec.email {
        if db.find_user_by_email(&email.key()).await?.is_some() {
            return Err(AuthError::InvalidEmail(
                "Another account already has that e-mail address.",
            ));
        }
    }
    insert(db, hasher, actor, spec, password, false, now).await
}

async fn insert(
    db: &Db,
    hasher: &PasswordHasher,
    actor: Actor<'_>,
    spec: AccountSpec<'_>,
    password: String,
    is_demo: bool,
    now: i64,
) -> Result<i64, AuthError> {
    let phc = hasher.hash(password).await?;
    let user = NewUser {
        username: spec.username.as_str(),
        password_hash: &phc,
        role: spec.role,
        is_demo,
        email: spec.email.map(EmailAddress::as_str),
        email_verified: spec.email.is_some(),
        now,
    };
    let event = NewEvent::new(EventKind::UserCreated, spec.username.as_str(), actor, now);
    match db.insert_user(user, event).await {
        Ok(id) => Ok(id),
        Err(DbError::Conflict) => Err(AuthError::UsernameTaken),
        Err(e) => Err(e.into()),
    }
}

/// Deletes an account at `now`, recorded as done by `actor`; its sessions end with it (their
/// access tokens are refused from now on). The last active administrator cannot be removed.
/// Returns the sessions that ended.
pub async fn remove_user(
    db: &Db,
    actor: Actor<'_>,
    username: &Username,
    now: i64,
) -> Result<Vec<String>, AuthError> {
    let event = NewEvent::new(EventKind::UserRemoved, username.as_str(), actor, now);
    match db.remove_user(&username.key(), event).await? {
        AccountChange::NotFound => Err(AuthError::NotFound),
        AccountChange::LastAdmin => Err(AuthError::LastAdmin),
        AccountChange::Done { ended_sessions } => Ok(ended_sessions),
    }
}

impl Auth {
    /// Creates the demo users that do not exist yet (development only), marked as demo
    /// accounts. A demo-named account that still has its demo password but predates the mark
    /// (databases from before it existed) gets the mark now.
    pub async fn seed_demo_users(&self) -> Result<(), AuthError> {
        let (db, hasher) = (&self.db, &self.hasher);
        for (name, pass, role) in DEMO_USERS {
            let username = Username::parse(name)?;
            match db.find_user(&username.key()).await? {
                None => {
                    // The demo passwords are published, so no strength rule applies to them.
                    let spec = AccountSpec {
                        username: &username,
                        email: None,
                        role,
                    };
                    let seeded = insert(
                        db,
                        hasher,
                        Actor::Seed,
                        spec,
                        pass.to_owned(),
                        true,
                        self.now(),
                    );
                    match seeded.await {
                        Ok(_) => tracing::info!(username = name, %role, "created demo user"),
                        // Another instance sharing the database created it a moment ago.
                        Err(AuthError::UsernameTaken) => {}
                        Err(e) => return Err(e),
                    }
                }
                Some(user) if !user.is_demo => {
                    if hasher
                        .is_published_password(user.password_hash, pass)
                        .await?
                    {
                        db.mark_demo_user(user.id).await?;
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The demo accounts in the database: the marked ones, and demo-named accounts that still
    /// accept their published demo password (from databases that predate the mark).
    /// Production refuses to start while this is not empty.
    pub async fn demo_accounts(&self) -> Result<Vec<String>, AuthError> {
        let mut found = self.db.demo_usernames().await?;
        for (name, pass, _) in DEMO_USERS {
            if found.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                continue;
            }
            if let Some(user) = self.db.find_user(&UsernameKey::of(name)).await? {
                let phc = user.password_hash.clone();
                if self.hasher.is_published_password(phc, pass).await? {
                    found.push(user.username);
                }
            }
        }
        Ok(found)
    }
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
        for bad in [
            "a b",
            "a\nb",
            "a\u{0}b",
            "a\tb",
            "ad\u{200b}min",
            "\u{202e}nimda",
            "a\u{feff}b",
            "a\u{2060}b",
        ] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::BadCharacter),
                "{bad:?}"
            );
        }
    }
}
