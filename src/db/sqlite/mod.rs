//! The SQLite backend: one file in WAL mode, migrations from `migrations/`.
//!
//! WAL lets page loads read while a refresh writes; the busy timeout makes concurrent writers
//! queue instead of failing with `SQLITE_BUSY`; `synchronous = FULL` makes every committed
//! transaction durable across a crash or power loss. Every step that writes runs in one
//! `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock at once: the steps that check
//! and then write (rotation) cannot interleave.

use super::{AttemptCount, DbError, NewEvent, NewRefreshToken, RefreshTokenRow, Store, UserRow};
use crate::model::{RevokeReason, Role};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::{str::FromStr, time::Duration};

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if the URL says `mode=rwc`) the database and applies every migration in
    /// `migrations/`, which are embedded in the binary at build time.
    pub async fn connect(database_url: &str) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str(database_url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            // An in-memory database lives in one connection; files get a small pool.
            .max_connections(if in_memory { 1 } else { 8 })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn write(&self) -> Result<Transaction<'static, Sqlite>, DbError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

async fn insert_event(
    tx: &mut Transaction<'_, Sqlite>,
    event: &NewEvent<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO auth_events (at, kind, username, family_id, ip, user_agent)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(event.at)
    .bind(event.kind)
    .bind(event.username)
    .bind(event.family_id)
    .bind(event.client.ip.as_deref())
    .bind(event.client.user_agent.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_token(
    tx: &mut Transaction<'_, Sqlite>,
    token: &NewRefreshToken<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO refresh_tokens
             (token_hash, user_id, family_id, parent_id, created_at, last_used_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
    )
    .bind(&token.token_hash[..])
    .bind(token.user_id)
    .bind(token.family_id)
    .bind(token.parent_id)
    .bind(token.now)
    .bind(token.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn find_user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        Ok(
            sqlx::query_as(
                "SELECT id, username, password_hash, role FROM users WHERE username = ?",
            )
            .bind(username)
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> Result<i64, DbError> {
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.last_insert_rowid())
    }

    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RefreshTokenRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.user_id, u.username, u.role, t.family_id, t.last_used_at,
                    t.expires_at, t.rotated_at, t.revoked_at
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?",
        )
        .bind(&token_hash[..])
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn start_session(
        &self,
        token: NewRefreshToken<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        insert_token(&mut tx, &token).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        child: NewRefreshToken<'_>,
        mark_parent_rotated: bool,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let claimed = if mark_parent_rotated {
            sqlx::query(
                "UPDATE refresh_tokens SET rotated_at = ?1, last_used_at = ?1
                 WHERE id = ?2 AND rotated_at IS NULL AND revoked_at IS NULL",
            )
            .bind(child.now)
            .bind(child.parent_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            let live: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM refresh_tokens WHERE id = ? AND revoked_at IS NULL",
            )
            .bind(child.parent_id)
            .fetch_one(&mut *tx)
            .await?;
            live.unsigned_abs()
        };
        if claimed != 1 {
            return Ok(false);
        }
        insert_token(&mut tx, &child).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_family(
        &self,
        family_id: &str,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<u64, DbError> {
        let mut tx = self.write().await?;
        let revoked = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?, revoked_reason = ?
             WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(event.at)
        .bind(reason)
        .bind(family_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked > 0 {
            insert_event(&mut tx, &event).await?;
            tx.commit().await?;
        }
        Ok(revoked)
    }

    async fn record_event(&self, event: NewEvent<'_>) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn count_login_attempt(
        &self,
        username: &str,
        window_secs: i64,
        now: i64,
    ) -> Result<AttemptCount, DbError> {
        let (failures, window_start) = sqlx::query_as(
            "INSERT INTO login_failures (username, failures, window_start) VALUES (?1, 1, ?2)
             ON CONFLICT (username) DO UPDATE SET
                 failures     = CASE WHEN ?2 - window_start >= ?3 THEN 1  ELSE failures + 1 END,
                 window_start = CASE WHEN ?2 - window_start >= ?3 THEN ?2 ELSE window_start END
             RETURNING failures, window_start",
        )
        .bind(username)
        .bind(now)
        .bind(window_secs)
        .fetch_one(&self.pool)
        .await?;
        Ok(AttemptCount {
            failures,
            window_start,
        })
    }

    async fn reset_login_failures(&self, username: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM login_failures WHERE username = ?")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune_login_failures(&self, window_secs: i64, now: i64) -> Result<u64, DbError> {
        let result = sqlx::query("DELETE FROM login_failures WHERE window_start <= ?")
            .bind(now - window_secs)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}
