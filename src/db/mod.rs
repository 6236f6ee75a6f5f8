//! Storage (server only; no HTTP here): the [`Store`] interface the security core talks to, the
//! rows it returns, and one module per backend.
//!
//! The interface is made of whole, atomic steps ("rotate this token if nobody else has",
//! "revoke this family and record why"), not of raw queries: each backend decides how to make a
//! step atomic (SQLite: one `BEGIN IMMEDIATE` transaction), while the decisions (is this token
//! live? reused? throttled?) stay in `auth`. Row types never leave the server; the browser's
//! DTOs are in `api`.

pub mod postgres;
pub mod sqlite;

use crate::model::{Amr, EventKind, RevokeReason, Role};
use std::{fmt, net::IpAddr, sync::Arc};

/// The storage every request shares. Cheap to clone.
pub type Db = Arc<dyn Store>;

/// Opens the database named by `database_url` (`postgres://…` or `sqlite:…`) and applies its
/// migrations.
pub async fn connect(database_url: &str) -> Result<Db, DbError> {
    if is_postgres(database_url) {
        Ok(Arc::new(postgres::PgStore::connect(database_url).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::connect(database_url).await?))
    }
}

/// Whether a database URL names PostgreSQL.
pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

/// What a revocation feed reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A session was revoked (by any instance).
    Revoked(RevokedSession),
    /// The feed lost its connection and has a new one: notifications may have been missed.
    Reconnected,
}

/// Revocations as they happen, from a backend that can push them.
#[async_trait::async_trait]
pub trait RevocationFeed: Send {
    /// The next revocation (waits for one).
    async fn next(&mut self) -> Result<FeedEvent, DbError>;
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
    /// The task that commits writes has stopped (the server is shutting down).
    #[error("the database writer has stopped")]
    Closed,
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
    /// Locked by an administrator: cannot log in or refresh.
    pub locked: bool,
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
    /// The owner's account is locked.
    pub locked: bool,
    /// How the session's user authenticated.
    pub amr: Amr,
}

/// A live session, as its owner sees it on the account page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client address at the latest refresh.
    pub last_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An account as the admin area lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSummary {
    pub username: String,
    pub role: Role,
    pub locked: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Live sessions.
    pub sessions: i64,
    pub totp_enabled: bool,
}

/// An audit event as the admin area lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub kind: EventKind,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub actor: Option<String>,
}

/// Which audit events to list: older than `before_id` (the cursor), optionally one user's or
/// one kind's.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilter<'a> {
    pub before_id: Option<i64>,
    pub username: Option<&'a str>,
    pub kind: Option<EventKind>,
}

/// When a session counts as live at `now`: not revoked, before its absolute expiry, used since
/// `idle_since`.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub now: i64,
    pub idle_since: i64,
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

/// A session to start, with its first refresh token (only the token's hash).
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub amr: Amr,
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

/// Who sent a request, for the audit log and the throttle.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address: the socket's peer, or what a trusted proxy says it forwarded.
    pub ip: Option<IpAddr>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The address as stored in the audit log.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
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
    /// Who did it, when not the user themself (an administrator, `cli`).
    pub actor: Option<&'a str>,
}

/// What login failures are counted against: the (username, address) pair, the address alone,
/// and the username alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKeys {
    /// The lower-cased username.
    pub user: String,
    /// The client address (an IPv6 client's /64).
    pub ip: String,
}

impl ThrottleKeys {
    /// The stored `(scope, subject)` of each counter, in the order of [`LoginCounts`].
    pub fn subjects(&self) -> [(&'static str, String); 3] {
        [
            ("user_ip", format!("{}|{}", self.user, self.ip)),
            ("ip", self.ip.clone()),
            ("user", self.user.clone()),
        ]
    }
}

/// How long each kind of counter's window lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleWindows {
    /// For the (username, address) and address counters.
    pub address_secs: i64,
    /// For the per-username ceiling.
    pub user_secs: i64,
}

/// One failure counter in its current window (zero when the window has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub failures: i64,
    /// When the window started (Unix seconds).
    pub window_start: i64,
}

/// The three counters of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginCounts {
    pub user_ip: Counter,
    pub ip: Counter,
    pub user: Counter,
}

/// What a retention pass deletes: rows ended before these times (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Sessions that expired or were revoked before this (their tokens go along).
    pub sessions_ended_before: i64,
    /// Sessions last used before this have been idle too long (and retained long enough).
    pub sessions_idle_before: i64,
    /// Revocations no access token can need any more.
    pub revocations_before: i64,
    /// Audit events older than this.
    pub events_before: i64,
    pub now: i64,
    pub windows: ThrottleWindows,
    /// Rows per delete statement, so a pass never holds the write lock for long.
    pub batch: u32,
}

/// A user's TOTP factor: the sealed secret and what it may still accept.
#[derive(Clone, sqlx::FromRow)]
pub struct TotpFactorRow {
    /// Which server key sealed `secret`.
    pub key_id: String,
    pub secret: Vec<u8>,
    /// Confirmed with a code; until then it is only being set up.
    pub enabled: bool,
    /// The newest time step whose code was accepted.
    pub last_step: Option<i64>,
}

impl fmt::Debug for TotpFactorRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpFactorRow")
            .field("key_id", &self.key_id)
            .field("secret", &"[sealed]")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A login waiting for its second step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRow {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub locked: bool,
    /// Codes tried so far.
    pub attempts: i64,
}

/// What one retention batch deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub revocations: u64,
    pub login_failures: u64,
    pub events: u64,
    pub challenges: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.sessions + self.revocations + self.login_failures + self.events + self.challenges
    }
}

/// The storage interface. Every method is one atomic step; see the module docs.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// A user by name, case-insensitively.
    async fn find_user(&self, username: &str) -> Result<Option<UserRow>, DbError>;

    /// Adds a user; [`DbError::Conflict`] when the name is taken (case-insensitively).
    async fn insert_user(&self, user: NewUser<'_>, event: NewEvent<'_>) -> Result<i64, DbError>;

    /// Marks an existing account as a demo account.
    async fn mark_demo_user(&self, user_id: i64) -> Result<(), DbError>;

    /// Deletes an account and, with it, its sessions (recorded as revoked at `now`, so their
    /// access tokens stop working). Returns whether it existed.
    async fn remove_user(&self, username: &str, event: NewEvent<'_>) -> Result<bool, DbError>;

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

    /// A feed of revocations as other instances make them, if the backend can push them
    /// (PostgreSQL `LISTEN`); `None` means: poll [`Store::revoked_sessions_since`].
    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError>;

    /// Appends to the audit log.
    async fn record_event(&self, event: NewEvent<'_>) -> Result<(), DbError>;

    /// The current failure counts of a login attempt. Read-only.
    async fn login_counts(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError>;

    /// Counts an attempt against all three counters at once, before its password is checked
    /// (a window that has passed starts again at 1), and returns the new counts.
    async fn reserve_login_attempt(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError>;

    /// Takes a reserved attempt back: it was not a failure (the password was right, or it was
    /// never checked). `forget_pair` also clears the (username, address) counter.
    async fn release_login_attempt(
        &self,
        keys: &ThrottleKeys,
        forget_pair: bool,
    ) -> Result<(), DbError>;

    /// Records `event` if this (username, address) window has not recorded a throttled attempt
    /// yet. Returns whether it did.
    async fn note_login_throttled(
        &self,
        keys: &ThrottleKeys,
        now: i64,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;

    /// Deletes one batch of each kind of expired row; call again while anything was deleted.
    async fn prune(&self, retention: Retention) -> Result<Pruned, DbError>;

    /// The live sessions of a user, newest activity first.
    async fn list_sessions(&self, user_id: i64, live: Liveness)
        -> Result<Vec<SessionRow>, DbError>;

    /// Revokes one live session of `user_id` (another user's, or an ended one, is not found:
    /// `false`) and records `event`.
    async fn revoke_own_session(
        &self,
        user_id: i64,
        session_id: &str,
        live: Liveness,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;

    /// Revokes every live session of `user_id` but `keep`, records `event` if any ended, and
    /// returns their ids.
    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError>;

    /// Replaces a user's password hash and ends their sessions but `keep`, with `event`,
    /// together. Returns the ended sessions.
    async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError>;

    /// Every account with its live-session count, by name.
    async fn list_users(&self, live: Liveness) -> Result<Vec<UserSummary>, DbError>;

    /// Locks (ending its sessions) or unlocks an account, unless that would leave no active
    /// administrator; records `event` when something changed.
    async fn set_locked(
        &self,
        username: &str,
        locked: bool,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError>;

    /// Changes an account's role (ending its sessions: tokens carry the role), unless that
    /// would leave no active administrator; records `event` when something changed.
    async fn set_role(
        &self,
        username: &str,
        role: Role,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError>;

    /// One page of the audit log, newest first.
    async fn list_events(
        &self,
        filter: EventFilter<'_>,
        limit: u32,
    ) -> Result<Vec<EventRow>, DbError>;

    /// A user's TOTP factor, enabled or being set up.
    async fn totp_factor(&self, user_id: i64) -> Result<Option<TotpFactorRow>, DbError>;

    /// Stores a factor being set up (replacing an earlier unconfirmed one). Returns `false`,
    /// storing nothing, when an enabled factor exists.
    async fn save_pending_totp(
        &self,
        user_id: i64,
        key_id: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<bool, DbError>;

    /// Seals a factor's secret again (under the active key, after a rotation).
    async fn reseal_totp(&self, user_id: i64, key_id: &str, secret: &[u8]) -> Result<(), DbError>;

    /// The users whose factor was sealed under another key than `key_id`, to reseal them all
    /// before that key is dropped.
    async fn users_with_totp_sealed_by_other_keys(&self, key_id: &str)
        -> Result<Vec<i64>, DbError>;

    /// Enables the pending factor, with the step of the confirming code and the hashes of new
    /// recovery codes, ends the user's sessions but `keep`, and records `event`. `None` when no
    /// factor was pending.
    async fn enable_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_hashes: &[[u8; 32]],
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError>;

    /// Removes a user's factor and recovery codes, ends their sessions but `keep`, and records
    /// `event`. Returns the ended sessions, or `None` when there was no factor.
    async fn remove_totp(
        &self,
        user_id: i64,
        keep: Option<&str>,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError>;

    /// Accepts the code of `step` if no code of that step or a later one was accepted before
    /// (each code works once). Returns whether it did.
    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, DbError>;

    /// Spends an unused recovery code. Returns whether it was one.
    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError>;

    /// Stores a login's second-step challenge (only its hash).
    async fn create_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError>;

    /// A challenge that is unused and unexpired at `now`, with its user.
    async fn find_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<ChallengeRow>, DbError>;

    /// Counts a wrong code against a challenge.
    async fn fail_mfa_challenge(&self, challenge_hash: &[u8; 32]) -> Result<(), DbError>;

    /// Uses a challenge up. Returns whether it was still unused and unexpired.
    async fn consume_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError>;
}
