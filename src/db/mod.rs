//! Storage (server only; no HTTP here): the [`Store`] interface the security core talks to, the
//! rows it returns, and one module per backend.
//!
//! The interface is made of whole, atomic steps ("rotate this token if nobody else has",
//! "revoke this family and record why"), not of raw queries: each backend decides how to make a
//! step atomic (SQLite: one `BEGIN IMMEDIATE` transaction), while the decisions (is this token
//! live? reused? throttled?) stay in `auth`. Row types never leave the server; the browser's
//! DTOs are in `api`.

pub mod sqlite;

use crate::model::{EventKind, RevokeReason, Role};
use std::{fmt, sync::Arc};

/// The storage every request shares. Cheap to clone.
pub type Db = Arc<dyn Store>;

/// Opens the database named by `database_url` and applies its migrations.
pub async fn connect(database_url: &str) -> Result<Db, DbError> {
    Ok(Arc::new(sqlite::SqliteStore::connect(database_url).await?))
}

/// A storage failure. `Conflict` is the one callers act on; everything else is a 500.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique key is taken (e.g. the username of a new account).
    #[error("a row with this key already exists")]
    Conflict,
    /// The database failed or refused the statement.
    #[error(transparent)]
    Backend(sqlx::Error),
    /// A migration could not be applied at start-up.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => Self::Backend(err),
        }
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
}

impl fmt::Debug for UserRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .field("is_demo", &self.is_demo)
            .finish()
    }
}

/// An account to create.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub username: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    pub role: Role,
    pub is_demo: bool,
    pub now: i64,
}

/// A stored refresh token (found by its SHA-256), joined with its session and owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub session_id: String,
    /// When it was exchanged for its child.
    pub rotated_at: Option<i64>,
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The session's absolute end.
    pub expires_at: i64,
    /// The session's idle expiry counts from here.
    pub last_used_at: i64,
    /// When the session was revoked.
    pub revoked_at: Option<i64>,
}

/// A session to start, with its first refresh token (only the token's hash).
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub token_hash: &'a [u8; 32],
    pub now: i64,
    pub expires_at: i64,
    pub client: &'a ClientInfo,
}

/// A rotation: `parent_id`'s successor in session `session_id`.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    pub parent_id: i64,
    pub session_id: &'a str,
    pub child_hash: &'a [u8; 32],
    pub now: i64,
    pub client: &'a ClientInfo,
}

/// A session revoked at `revoked_at`: what the access-token revocation set is built from.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RevokedSession {
    pub id: String,
    pub revoked_at: i64,
}

/// Who sent a request, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Peer IP address.
    pub ip: Option<String>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

/// One audit record. Carries names and client facts, never a password or a token.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub kind: EventKind,
    pub username: &'a str,
    /// The session concerned, if any.
    pub family_id: Option<&'a str>,
    pub client: &'a ClientInfo,
    pub at: i64,
}

/// Outcome of a login attempt counted by [`Store::count_login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCount {
    /// Attempts in the current window, this one included.
    pub failures: i64,
    /// When the window started (Unix seconds).
    pub window_start: i64,
}

/// The storage interface. Every method is one atomic step; see the module docs.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// A user by name, case-insensitively.
    async fn find_user(&self, username: &str) -> Result<Option<UserRow>, DbError>;

    /// Adds a user; [`DbError::Conflict`] when the name is taken (case-insensitively).
    async fn insert_user(&self, user: NewUser<'_>) -> Result<i64, DbError>;

    /// Marks an existing account as a demo account.
    async fn mark_demo_user(&self, user_id: i64) -> Result<(), DbError>;

    /// Deletes an account and, with it, its sessions (recorded as revoked at `now`, so their
    /// access tokens stop working). Returns whether it existed.
    async fn remove_user(&self, username: &str, now: i64) -> Result<bool, DbError>;

    /// The names of the accounts marked as demo accounts.
    async fn demo_usernames(&self) -> Result<Vec<String>, DbError>;

    /// A refresh token by its SHA-256. Read-only: a token that matches nothing writes nothing.
    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RefreshTokenRow>, DbError>;

    /// Stores a new session with its first token and records `event`, together.
    async fn start_session(
        &self,
        session: NewSession<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError>;

    /// Marks the parent rotated, stores the child, notes the session's use and records `event`,
    /// but only if the parent is still unrotated and its session unrevoked. Returns whether it
    /// did; `false` means another request got there first.
    async fn rotate_refresh_token(
        &self,
        rotation: Rotation<'_>,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;

    /// Revokes a session and, if it was live, records `event`. Returns whether it was live.
    async fn revoke_session(
        &self,
        session_id: &str,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;

    /// Sessions revoked at or after `since`, for the access-token revocation set.
    async fn revoked_sessions_since(&self, since: i64) -> Result<Vec<RevokedSession>, DbError>;

    /// Appends to the audit log.
    async fn record_event(&self, event: NewEvent<'_>) -> Result<(), DbError>;

    /// Counts a login attempt for `username` in a fixed window of `window_secs` (a new window
    /// starts once the old one has passed) and returns the count, atomically.
    async fn count_login_attempt(
        &self,
        username: &str,
        window_secs: i64,
        now: i64,
    ) -> Result<AttemptCount, DbError>;

    /// Forgets the failures of `username` (after a successful login).
    async fn reset_login_failures(&self, username: &str) -> Result<(), DbError>;

    /// Drops failure counts whose window has passed. Returns how many.
    async fn prune_login_failures(&self, window_secs: i64, now: i64) -> Result<u64, DbError>;
}
