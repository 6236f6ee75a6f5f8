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
}

impl fmt::Debug for UserRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .finish()
    }
}

/// A stored refresh token (found by its SHA-256), joined with its owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// Shared by every rotation of one login: the session.
    pub family_id: String,
    /// Idle expiry counts from here.
    pub last_used_at: i64,
    /// Absolute end of the session, copied to every rotation.
    pub expires_at: i64,
    /// When it was exchanged for a child token.
    pub rotated_at: Option<i64>,
    /// When its family was revoked.
    pub revoked_at: Option<i64>,
}

/// A refresh token to store: only its hash, never the token.
#[derive(Debug, Clone, Copy)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a [u8; 32],
    pub user_id: i64,
    pub family_id: &'a str,
    /// The token this one replaces (`None` for the first token of a login).
    pub parent_id: Option<i64>,
    pub now: i64,
    pub expires_at: i64,
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
    async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> Result<i64, DbError>;

    /// A refresh token by its SHA-256. Read-only: a token that matches nothing writes nothing.
    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RefreshTokenRow>, DbError>;

    /// Stores the first token of a new session and records `event`, together.
    async fn start_session(
        &self,
        token: NewRefreshToken<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError>;

    /// Stores `child` (whose `parent_id` is set) and records `event`, but only if the parent is
    /// still unrevoked and, when `mark_parent_rotated`, not rotated yet (then marks it). Returns
    /// whether it did; `false` means another request got there first.
    async fn rotate_refresh_token(
        &self,
        child: NewRefreshToken<'_>,
        mark_parent_rotated: bool,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;

    /// Revokes every live token of a family and, if any was live, records `event`. Returns how
    /// many tokens it revoked (0: already ended).
    async fn revoke_family(
        &self,
        family_id: &str,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<u64, DbError>;

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
