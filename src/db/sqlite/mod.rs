//! The SQLite engine: one file in WAL mode, migrations from `migrations/sqlite/`.
//!
//! WAL lets page loads read while a refresh writes; the busy timeout makes concurrent writers
//! queue instead of failing with `SQLITE_BUSY`; `synchronous = FULL` makes every committed
//! transaction durable across a crash or power loss. Every step that writes runs in one
//! `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock at once: the steps that check
//! and then write (rotation, the last-admin rule) cannot interleave, so no row needs locking.
//! Refresh rotations, the frequent write, are group-committed (`sessions`).

use super::engine::{Backend, Engine, SqlTx};
use super::{DbError, RevocationFeed, Rotation};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite};
use std::{str::FromStr, time::Duration};

mod sessions;

/// The SQLite store.
pub type SqliteStore = Backend<SqliteEngine>;

/// Two pools on one file, and the rotation queue.
#[derive(Debug)]
pub struct SqliteEngine {
    /// Readers.
    pool: SqlitePool,
    /// The one writer connection (see `connect`).
    writer: SqlitePool,
    /// Refresh rotations, group-committed on `writer`.
    rotations: sessions::Rotations,
}

/// Opens (creating if the URL says `mode=rwc`) the database and applies every migration in
/// `migrations/sqlite`, which are embedded in the binary at build time.
pub async fn connect(database_url: &str) -> Result<SqliteStore, DbError> {
    let options = SqliteConnectOptions::from_str(database_url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
    // Every write goes through one connection: SQLite has one writer at a time anyway, and
    // waiting in the pool's queue is first come, first served, where competing connections
    // would wait in SQLite's busy handler, which sleeps and retries and lets a late arrival
    // overtake a request that has waited for long (a p99 of 100+ ms under load). Other
    // processes (the `jwt-auth user` commands) still meet the busy timeout.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
    let pool = if in_memory {
        // An in-memory database lives in its one connection.
        writer.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?
    };
    let rotations = sessions::Rotations::start(writer.clone());
    Ok(Backend::new(SqliteEngine {
        pool,
        writer,
        rotations,
    }))
}

#[async_trait::async_trait]
impl Engine for SqliteEngine {
    type Db = Sqlite;

    const ROW_LOCKS: bool = false;

    fn reader(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    async fn begin(&self) -> Result<SqlTx<Sqlite>, DbError> {
        Ok(SqlTx(self.writer.begin_with("BEGIN IMMEDIATE").await?))
    }

    async fn rotate(&self, rotation: Rotation<'_>) -> Result<bool, DbError> {
        self.rotations.rotate(rotation).await
    }

    /// Nothing can push: each process polls `session_revocations`.
    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError> {
        Ok(None)
    }
}
