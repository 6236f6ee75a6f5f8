//! Storage (server only; no HTTP here): the [`Store`] the security core talks to, one module
//! per concern, and the two engines.
//!
//! | module        | concern                                                      | trait              |
//! |---------------|--------------------------------------------------------------|--------------------|
//! | `users`       | accounts: name, password hash, role, lock, demo mark         | [`UserStore`]      |
//! | `sessions`    | sessions and their refresh tokens                            | [`SessionStore`]   |
//! | `revocations` | the record of revoked sessions other processes read          | [`RevocationStore`]|
//! | `throttle`    | login-failure counters                                       | [`ThrottleStore`]  |
//! | `mfa`         | TOTP factors, recovery codes, second-step challenges         | [`MfaStore`]       |
//! | `links`       | single-use mail links and the flows they finish (sign-up, reset) | [`LinkStore`] |
//! | `outbox`      | mails to deliver, claimed by workers                         | [`OutboxStore`]    |
//! | `audit`       | the audit log and who acted ([`Actor`])                      | [`AuditStore`]     |
//! | `retention`   | deleting what has expired, in batches                        | [`RetentionStore`] |
//! | `rules`       | business rules the steps apply inside their transactions (the last admin) | |
//! | `engine`      | the seam: statements, binding, transactions, what an engine does its own way | |
//! | `sqlite`, `postgres` | the engines: connecting, migrations, and only what differs     | |
//!
//! Every method of a concern trait is one atomic step ("rotate this token if nobody else has",
//! "revoke this session and record why"), not a raw query: each step is written once, over
//! [`engine::Backend`], with SQL both engines accept, while the decisions (is this token live?
//! reused? throttled?) stay in `auth`. An engine decides only how a step is made atomic
//! (SQLite: one `BEGIN IMMEDIATE` transaction, rotations group-committed; PostgreSQL: row
//! locks and retries). Row types never leave the server; the browser's DTOs are in `api`.

mod audit;
pub mod engine;
mod links;
mod mfa;
mod outbox;
pub mod postgres;
mod retention;
mod revocations;
pub mod rules;
mod sessions;
pub mod sqlite;
mod throttle;
mod users;

pub use audit::{Actor, AuditStore, EventFilter, EventRow, NewEvent};
pub use links::{
    Accepted, InvitationRow, LinkPurpose, LinkStore, NewLink, Reset, SignUp, Verified,
};
pub use mfa::{ChallengeRow, MfaStore, TotpFactorRow};
pub use outbox::{ClaimedMail, FailedMail, NewMail, OutboxCounts, OutboxStore};
pub use retention::{Pruned, Retention, RetentionStore};
pub use revocations::{FeedEvent, RevocationFeed, RevocationStore, RevokedSession};
pub use sessions::{
    Liveness, NewSession, Rotation, SessionRecord, SessionRow, SessionStore, SessionTokenRow,
};
pub use throttle::{Counter, Subject, ThrottleScope, ThrottleStore};
pub use users::{
    AccountChange, AccountEdit, EmailKey, NewUser, UserRow, UserStore, UserSummary, UsernameKey,
    USERNAME_KEY_FORM,
};

use std::sync::Arc;

/// Everything the security core stores, one trait per concern.
pub trait Store:
    UserStore
    + SessionStore
    + RevocationStore
    + ThrottleStore
    + MfaStore
    + LinkStore
    + OutboxStore
    + AuditStore
    + RetentionStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: UserStore
        + SessionStore
        + RevocationStore
        + ThrottleStore
        + MfaStore
        + LinkStore
        + OutboxStore
        + AuditStore
        + RetentionStore
        + Send
        + Sync
{
}

/// The storage every request shares. Cheap to clone.
pub type Db = Arc<dyn Store>;

/// Opens the database named by `database_url` (`postgres://…` or `sqlite:…`) and applies its
/// migrations.
pub async fn connect(database_url: &str) -> Result<Db, DbError> {
    if is_postgres(database_url) {
        Ok(Arc::new(postgres::connect(database_url).await?))
    } else {
        Ok(Arc::new(sqlite::connect(database_url).await?))
    }
}

/// Whether a database URL names PostgreSQL.
pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
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

impl DbError {
    /// A PostgreSQL serialization failure (40001) or deadlock (40P01): the transaction was
    /// rolled back and may be repeated.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40001") | Some("40P01"))
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => Self::Backend(err),
        }
    }
}
