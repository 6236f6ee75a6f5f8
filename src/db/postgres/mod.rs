//! The PostgreSQL engine: several server instances can share one database.
//!
//! Every step is one transaction at READ COMMITTED. Steps that check and then write do it with
//! a conditional statement (`UPDATE … WHERE rotated_at IS NULL`, `INSERT … ON CONFLICT`),
//! whose row lock makes a concurrent request from any instance wait and then see the result,
//! or take the rows they depend on `FOR UPDATE` first (the last-admin rule: `ROW_LOCKS`). A
//! serialization failure or deadlock is retried (`engine::retry`). A refresh is one
//! conditional `UPDATE`. Revocations are announced
//! with `NOTIFY` (a trigger on `session_revocations`), which `revocations` turns into a feed.

use super::engine::{execute, Backend, Engine, SqlTx};
use super::sessions::rotate_statement;
use super::{DbError, RevocationFeed, Rotation};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::time::Duration;

mod revocations;

/// The PostgreSQL store.
pub type PgStore = Backend<PgEngine>;

/// A pool, and the URL the revocation listener connects with.
pub struct PgEngine {
    pool: PgPool,
    database_url: String,
}

impl std::fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PgEngine").finish_non_exhaustive()
    }
}

/// Connects and applies every migration in `migrations/postgres/` (embedded at build time;
/// several instances starting at once are serialised by sqlx's advisory lock).
pub async fn connect(database_url: &str) -> Result<PgStore, DbError> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(database_url)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(Backend::new(PgEngine {
        pool,
        database_url: database_url.to_owned(),
    }))
}

#[async_trait::async_trait]
impl Engine for PgEngine {
    type Db = Postgres;

    const ROW_LOCKS: bool = true;

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    async fn begin(&self) -> Result<SqlTx<Postgres>, DbError> {
        Ok(SqlTx(self.pool.begin().await?))
    }

    /// One statement: concurrent refreshes of one token on several instances meet at the
    /// session's row lock, and the losers find the token no longer live.
    async fn rotate(&self, rotation: Rotation<'_>) -> Result<bool, DbError> {
        Ok(execute(&self.pool, rotate_statement(&rotation)).await? == 1)
    }

    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError> {
        Ok(Some(Box::new(
            revocations::listen(&self.database_url).await?,
        )))
    }
}
