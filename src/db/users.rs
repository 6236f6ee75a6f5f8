//! Accounts: the name, the password hash, the role, the lock, the demo mark.

use super::audit::{record, NewEvent};
use super::engine::{retry, stmt, Backend, Engine, SqlTx};
use super::rules::{is_last_active_admin, AccountState};
use super::sessions::{end_sessions, Liveness};
use super::DbError;
use crate::model::{RevokeReason, Role};
use std::fmt;

/// A username in the one form that is compared: uniqueness, lookups and throttle keys all use
/// it, on both engines alike (so no engine's collation decides who is who). The form is Unicode's
/// NFKC_Casefold: compatibility-normalised and case-folded, so "Ａｄｍｉｎ", "ADMIN" and "admin"
/// are one name, and so are the two ways of writing "é".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsernameKey(String);

/// Which canonical form `users.username_key` holds (see [`UserStore::upgrade_username_keys`]).
pub const USERNAME_KEY_FORM: &str = "nfkc-casefold-1";

impl UsernameKey {
    /// The key of a name as typed.
    pub fn of(username: &str) -> Self {
        use unicode_normalization::UnicodeNormalization;
        let folded = caseless::default_case_fold_str(&username.nfkc().collect::<String>());
        Self(folded.nfkc().collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address in the one form that is compared (trimmed, lower case): what
/// `users.email_key` holds and is unique by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailKey(String);

impl EmailKey {
    pub fn of(address: &str) -> Self {
        Self(address.trim().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user account. Holds the password hash, so it is never serialised and its `Debug` hides it.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    /// The access token's `sub`.
    pub id: i64,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    /// Created by development seeding: production refuses to start while one exists.
    pub is_demo: bool,
    /// Locked by an administrator: cannot log in or refresh.
    pub locked: bool,
    /// Moves on whenever the account's sessions are ended (see `sessions::end_sessions`).
    pub security_epoch: i64,
    pub email: Option<String>,
    /// When the address was proven to be the user's (an account with an unverified address
    /// cannot log in yet).
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
}

impl UserRow {
    /// The address security notices go to: only a verified one.
    pub fn verified_email(&self) -> Option<&str> {
        self.email
            .as_deref()
            .filter(|_| self.email_verified_at.is_some())
    }
}

impl fmt::Debug for UserRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .field("is_demo", &self.is_demo)
            .field("locked", &self.locked)
            .field("security_epoch", &self.security_epoch)
            .field("email_verified_at", &self.email_verified_at)
            .finish_non_exhaustive()
    }
}

/// An account to create.
#[derive(Clone, Copy)]
pub struct NewUser<'a> {
    pub username: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    pub role: Role,
    pub is_demo: bool,
    /// The address, if the account has one, and whether it counts as verified (an operator's
    /// word, or an invitation's).
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub now: i64,
}

impl fmt::Debug for NewUser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .field("is_demo", &self.is_demo)
            .finish_non_exhaustive()
    }
}

/// An account as the admin area lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSummary {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub role: Role,
    pub locked: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Live sessions.
    pub sessions: i64,
    pub totp_enabled: bool,
}

/// The outcome of an administrator's change to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Done; these sessions of the account were ended by it.
    Done { ended_sessions: Vec<String> },
    /// No account of that name.
    NotFound,
    /// It would leave no active administrator.
    LastAdmin,
}

/// What an administrator changes about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEdit {
    /// Lock (`true`) or unlock it.
    Lock(bool),
    /// Give it this role.
    Role(Role),
}

/// Accounts.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// A user by name.
    async fn find_user(&self, username: &UsernameKey) -> Result<Option<UserRow>, DbError>;

    /// A user by id.
    async fn find_user_by_id(&self, user_id: i64) -> Result<Option<UserRow>, DbError>;

    /// The user whose address this is.
    async fn find_user_by_email(&self, email: &EmailKey) -> Result<Option<UserRow>, DbError>;

    /// Adds a user; [`DbError::Conflict`] when the name is taken.
    async fn insert_user(&self, user: NewUser<'_>, event: NewEvent<'_>) -> Result<i64, DbError>;

    /// Marks an existing account as a demo account.
    async fn mark_demo_user(&self, user_id: i64) -> Result<(), DbError>;

    /// Deletes an account and, with it, its sessions (recorded as revoked at the event's time,
    /// so their access tokens stop working), unless it is the last active administrator.
    async fn remove_user(
        &self,
        username: &UsernameKey,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError>;

    /// The names of the accounts marked as demo accounts.
    async fn demo_usernames(&self) -> Result<Vec<String>, DbError>;

    /// Recomputes every stored username key once, when they were computed in an older form
    /// than [`USERNAME_KEY_FORM`] (start-up; afterwards it reads one row). Returns how many
    /// changed. A name whose new key another account has is left as it was, and logged.
    async fn upgrade_username_keys(&self) -> Result<u64, DbError>;

    /// Every account with its live-session count, by name.
    async fn list_users(&self, live: Liveness) -> Result<Vec<UserSummary>, DbError>;

    /// Locks or unlocks an account, or changes its role, unless that would leave no active
    /// administrator; records `event` when something changed. Locking and a new role end the
    /// account's sessions (tokens carry the role).
    async fn edit_account(
        &self,
        username: &UsernameKey,
        edit: AccountEdit,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError>;

    /// Replaces a user's password hash and ends their sessions but `keep`, with `event`,
    /// together. Returns the ended sessions.
    async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError>;
}

macro_rules! user_row {
    ($filter:literal) => {
        concat!(
            "SELECT id, username, password_hash, role, is_demo,
                    locked_at IS NOT NULL AS locked, security_epoch, email, email_verified_at,
                    created_at
             FROM users WHERE ",
            $filter
        )
    };
}

const FIND_USER: &str = user_row!("username_key = $1");
const FIND_USER_BY_ID: &str = user_row!("id = $1");
const FIND_USER_BY_EMAIL: &str = user_row!("email_key = $1");

const INSERT_USER: &str = "INSERT INTO users
         (username, username_key, password_hash, role, is_demo, created_at,
          email, email_key, email_verified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

const MARK_DEMO: &str = "UPDATE users SET is_demo = TRUE WHERE id = $1";

/// A removed user's sessions go with it; their access tokens must stop working too.
const REVOKE_SESSIONS_OF: &str = "INSERT INTO session_revocations (session_id, revoked_at)
     SELECT s.id, $1 FROM sessions s
     WHERE s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $1
     ON CONFLICT DO NOTHING
     RETURNING session_id";

const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";

const DEMO_USERNAMES: &str = "SELECT username FROM users WHERE is_demo = TRUE ORDER BY username";

const KEY_FORM: &str = "SELECT value FROM schema_facts WHERE name = 'username_key_form'";
const SET_KEY_FORM: &str = "INSERT INTO schema_facts (name, value) VALUES ('username_key_form', $1)
     ON CONFLICT (name) DO UPDATE SET value = $1";
const NAMES_AFTER: &str =
    "SELECT id, username, username_key FROM users WHERE id > $1 ORDER BY id LIMIT 1000";
const SET_KEY: &str = "UPDATE users SET username_key = $1 WHERE id = $2";

const LIST_USERS: &str = "SELECT u.username, u.email,
            u.email_verified_at IS NOT NULL AS email_verified, u.role, u.locked_at IS NOT NULL AS locked,
            u.created_at, u.last_login_at,
            (SELECT COUNT(*) FROM sessions s
             WHERE s.user_id = u.id AND s.revoked_at IS NULL
               AND s.expires_at > $1 AND s.last_used_at > $2) AS sessions,
            EXISTS (SELECT 1 FROM totp_factors f
                    WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL) AS totp_enabled
     FROM users u ORDER BY u.username_key";

const ACCOUNT: &str =
    "SELECT id, role, locked_at IS NOT NULL AS locked FROM users WHERE username_key = $1";
const ACCOUNT_FOR_UPDATE: &str =
    "SELECT id, role, locked_at IS NOT NULL AS locked FROM users WHERE username_key = $1
     FOR UPDATE";

const ACTIVE_ADMINS: &str =
    "SELECT id FROM users WHERE role = $1 AND locked_at IS NULL ORDER BY id";
const ACTIVE_ADMINS_FOR_UPDATE: &str =
    "SELECT id FROM users WHERE role = $1 AND locked_at IS NULL ORDER BY id FOR UPDATE";

const SET_LOCKED: &str = "UPDATE users SET locked_at = $1 WHERE id = $2";
const SET_ROLE: &str = "UPDATE users SET role = $1 WHERE id = $2";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";

impl<E: Engine> Backend<E> {
    /// The account `username`, locked for the rest of the transaction where rows can be.
    async fn account(
        tx: &mut SqlTx<E::Db>,
        username: &UsernameKey,
    ) -> Result<Option<AccountState>, DbError> {
        let sql = Self::locking(ACCOUNT, ACCOUNT_FOR_UPDATE);
        tx.fetch_optional(stmt!(sql, username.as_str())).await
    }

    /// How many administrators can still log in, their rows locked where rows can be. Taken
    /// before the account being changed: one lock order for every change, so two admins
    /// changing each other cannot deadlock and the count cannot change under the step.
    async fn active_admins(tx: &mut SqlTx<E::Db>) -> Result<i64, DbError> {
        let sql = Self::locking(ACTIVE_ADMINS, ACTIVE_ADMINS_FOR_UPDATE);
        let ids: Vec<(i64,)> = tx.fetch_all(stmt!(sql, Role::Admin)).await?;
        Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
    }

    async fn edit_account_once(
        &self,
        username: &UsernameKey,
        edit: AccountEdit,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError> {
        let mut tx = self.begin().await?;
        let admins = Self::active_admins(&mut tx).await?;
        let Some(account) = Self::account(&mut tx, username).await? else {
            return Ok(AccountChange::NotFound);
        };
        let (unchanged, removes_admin) = match edit {
            AccountEdit::Lock(locked) => (locked == account.locked, locked),
            AccountEdit::Role(role) => (role == account.role, true),
        };
        if unchanged {
            return Ok(AccountChange::Done {
                ended_sessions: Vec::new(),
            });
        }
        if removes_admin && is_last_active_admin(&account, admins) {
            return Ok(AccountChange::LastAdmin);
        }
        let reason = match edit {
            AccountEdit::Lock(locked) => {
                tx.execute(stmt!(SET_LOCKED, locked.then_some(event.at), account.id))
                    .await?;
                locked.then_some(RevokeReason::AccountLocked)
            }
            AccountEdit::Role(role) => {
                tx.execute(stmt!(SET_ROLE, role, account.id)).await?;
                Some(RevokeReason::RoleChanged)
            }
        };
        let ended_sessions = match reason {
            Some(reason) => end_sessions(&mut tx, account.id, None, reason, event.at).await?,
            None => Vec::new(),
        };
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(AccountChange::Done { ended_sessions })
    }
}

impl<E: Engine> Backend<E> {
    /// The account's row is locked first (where rows can be): a login starting a session for
    /// it holds its row shared, so either that session exists by now and is recorded as
    /// revoked below, or the login finds the account gone.
    async fn remove_user_once(
        &self,
        username: &UsernameKey,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError> {
        let mut tx = self.begin().await?;
        let admins = Self::active_admins(&mut tx).await?;
        let Some(account) = Self::account(&mut tx, username).await? else {
            return Ok(AccountChange::NotFound);
        };
        if is_last_active_admin(&account, admins) {
            return Ok(AccountChange::LastAdmin);
        }
        let ended: Vec<(String,)> = tx
            .fetch_all(stmt!(REVOKE_SESSIONS_OF, event.at, account.id))
            .await?;
        tx.execute(stmt!(DELETE_USER, account.id)).await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(AccountChange::Done {
            ended_sessions: ended.into_iter().map(|(id,)| id).collect(),
        })
    }
}

#[async_trait::async_trait]
impl<E: Engine> UserStore for Backend<E> {
    async fn find_user(&self, username: &UsernameKey) -> Result<Option<UserRow>, DbError> {
        self.fetch_optional(stmt!(FIND_USER, username.as_str()))
            .await
    }

    async fn find_user_by_id(&self, user_id: i64) -> Result<Option<UserRow>, DbError> {
        self.fetch_optional(stmt!(FIND_USER_BY_ID, user_id)).await
    }

    async fn find_user_by_email(&self, email: &EmailKey) -> Result<Option<UserRow>, DbError> {
        self.fetch_optional(stmt!(FIND_USER_BY_EMAIL, email.as_str()))
            .await
    }

    async fn insert_user(&self, user: NewUser<'_>, event: NewEvent<'_>) -> Result<i64, DbError> {
        let key = UsernameKey::of(user.username);
        let mut tx = self.begin().await?;
        let id = tx
            .scalar(stmt!(
                INSERT_USER,
                user.username,
                key.as_str(),
                user.password_hash,
                user.role,
                user.is_demo,
                user.now,
                user.email,
                user.email.map(|e| EmailKey::of(e).0),
                user.email.and(user.email_verified.then_some(user.now)),
            ))
            .await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn mark_demo_user(&self, user_id: i64) -> Result<(), DbError> {
        self.execute(stmt!(MARK_DEMO, user_id)).await?;
        Ok(())
    }

    async fn remove_user(
        &self,
        username: &UsernameKey,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError> {
        retry(|| self.remove_user_once(username, event)).await
    }

    async fn upgrade_username_keys(&self) -> Result<u64, DbError> {
        let form: Option<(String,)> = self.fetch_optional(stmt!(KEY_FORM)).await?;
        if form.is_some_and(|(form,)| form == USERNAME_KEY_FORM) {
            return Ok(0);
        }
        let (mut after, mut changed) = (0, 0);
        loop {
            let names: Vec<(i64, String, Option<String>)> =
                self.fetch_all(stmt!(NAMES_AFTER, after)).await?;
            let Some(last) = names.last() else { break };
            after = last.0;
            for (id, name, stored) in names {
                let key = UsernameKey::of(&name);
                if stored.as_deref() == Some(key.as_str()) {
                    continue;
                }
                match self.execute(stmt!(SET_KEY, key.as_str(), id)).await {
                    Ok(_) => changed += 1,
                    Err(DbError::Conflict) => {
                        tracing::warn!(username = ?name, "two accounts share a canonical name; this one keeps its old key");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.execute(stmt!(SET_KEY_FORM, USERNAME_KEY_FORM)).await?;
        Ok(changed)
    }

    async fn demo_usernames(&self) -> Result<Vec<String>, DbError> {
        let names: Vec<(String,)> = self.fetch_all(stmt!(DEMO_USERNAMES)).await?;
        Ok(names.into_iter().map(|(name,)| name).collect())
    }

    async fn list_users(&self, live: Liveness) -> Result<Vec<UserSummary>, DbError> {
        self.fetch_all(stmt!(LIST_USERS, live.now, live.idle_since))
            .await
    }

    async fn edit_account(
        &self,
        username: &UsernameKey,
        edit: AccountEdit,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError> {
        retry(|| self.edit_account_once(username, edit, event)).await
    }

    async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError> {
        let mut tx = self.begin().await?;
        tx.execute(stmt!(SET_PASSWORD, password_hash, user_id))
            .await?;
        let reason = RevokeReason::PasswordChanged;
        let ended = end_sessions(&mut tx, user_id, Some(keep), reason, event.at).await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_or_read_alike_have_one_key() {
        let key = |name| UsernameKey::of(name).as_str().to_owned();
        assert_eq!(key("ADMIN"), "admin");
        assert_eq!(
            key("\u{ff21}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}"),
            "admin",
            "full-width"
        );
        assert_eq!(key("Stra\u{df}e"), key("STRASSE"), "ß folds to ss");
        assert_eq!(
            key("caf\u{e9}"),
            key("cafe\u{301}"),
            "composed and decomposed é"
        );
        assert_eq!(key("\u{2160}"), "i", "the Roman numeral one");
        assert_ne!(key("alice"), key("alicia"));
    }
}
