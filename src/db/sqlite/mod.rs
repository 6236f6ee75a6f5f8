//! The SQLite backend: one file in WAL mode, migrations from `migrations/`.
//!
//! WAL lets page loads read while a refresh writes; the busy timeout makes concurrent writers
//! queue instead of failing with `SQLITE_BUSY`; `synchronous = FULL` makes every committed
//! transaction durable across a crash or power loss. Every step that writes runs in one
//! `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock at once: the steps that check
//! and then write (rotation) cannot interleave.

use super::{
    Counter, DbError, LoginCounts, NewEvent, NewSession, NewUser, Pruned, RefreshTokenRow,
    Retention, RevokedSession, Rotation, Store, ThrottleKeys, ThrottleWindows, UserRow,
};
use crate::model::RevokeReason;
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
    .bind(event.client.ip_text())
    .bind(event.client.user_agent.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn find_user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT id, username, password_hash, role, is_demo FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn insert_user(&self, user: NewUser<'_>) -> Result<i64, DbError> {
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, role, is_demo, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(user.username)
        .bind(user.password_hash)
        .bind(user.role)
        .bind(user.is_demo)
        .bind(user.now)
        .execute(&self.pool)
        .await?;
        Ok(result.last_insert_rowid())
    }

    async fn mark_demo_user(&self, user_id: i64) -> Result<(), DbError> {
        sqlx::query("UPDATE users SET is_demo = 1 WHERE id = ?")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn remove_user(&self, username: &str, now: i64) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        // Its sessions go with it; their access tokens must stop working too.
        sqlx::query(
            "INSERT OR IGNORE INTO session_revocations (session_id, revoked_at)
             SELECT s.id, ?1 FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE u.username = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?1",
        )
        .bind(now)
        .bind(username)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query("DELETE FROM users WHERE username = ?")
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn demo_usernames(&self) -> Result<Vec<String>, DbError> {
        Ok(
            sqlx::query_scalar("SELECT username FROM users WHERE is_demo = 1 ORDER BY username")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RefreshTokenRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.session_id, t.rotated_at, s.user_id, u.username, u.role,
                    s.expires_at, s.last_used_at, s.revoked_at
             FROM refresh_tokens t
             JOIN sessions s ON s.id = t.session_id
             JOIN users u ON u.id = s.user_id
             WHERE t.token_hash = ?",
        )
        .bind(&token_hash[..])
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn start_session(
        &self,
        session: NewSession<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, ip, last_ip,
                                   user_agent)
             VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?5, ?6)",
        )
        .bind(session.id)
        .bind(session.user_id)
        .bind(session.now)
        .bind(session.expires_at)
        .bind(session.client.ip_text())
        .bind(session.client.user_agent.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(&session.token_hash[..])
        .bind(session.id)
        .bind(session.now)
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        rotation: Rotation<'_>,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = ?1
             WHERE id = ?2 AND rotated_at IS NULL
               AND session_id IN (SELECT id FROM sessions WHERE id = ?3 AND revoked_at IS NULL)",
        )
        .bind(rotation.now)
        .bind(rotation.parent_id)
        .bind(rotation.session_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, parent_id, created_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(&rotation.child_hash[..])
        .bind(rotation.session_id)
        .bind(rotation.parent_id)
        .bind(rotation.now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET last_used_at = ?, last_ip = ? WHERE id = ?")
            .bind(rotation.now)
            .bind(rotation.client.ip_text())
            .bind(rotation.session_id)
            .execute(&mut *tx)
            .await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_session(
        &self,
        session_id: &str,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ?
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(event.at)
        .bind(reason)
        .bind(session_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked > 0 {
            sqlx::query(
                "INSERT OR IGNORE INTO session_revocations (session_id, revoked_at) VALUES (?, ?)",
            )
            .bind(session_id)
            .bind(event.at)
            .execute(&mut *tx)
            .await?;
            insert_event(&mut tx, &event).await?;
            tx.commit().await?;
        }
        Ok(revoked > 0)
    }

    async fn revoked_sessions_since(&self, since: i64) -> Result<Vec<RevokedSession>, DbError> {
        Ok(sqlx::query_as(
            "SELECT session_id AS id, revoked_at FROM session_revocations WHERE revoked_at >= ?",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_event(&self, event: NewEvent<'_>) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login_counts(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError> {
        let [pair, ip, user] = keys.subjects();
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT scope, failures, window_start FROM login_failures
             WHERE (scope, subject) IN ((?, ?), (?, ?), (?, ?))",
        )
        .bind(pair.0)
        .bind(&pair.1)
        .bind(ip.0)
        .bind(&ip.1)
        .bind(user.0)
        .bind(&user.1)
        .fetch_all(&self.pool)
        .await?;
        Ok(counts_from(rows, windows, now))
    }

    async fn reserve_login_attempt(
        &self,
        keys: &ThrottleKeys,
        windows: ThrottleWindows,
        now: i64,
    ) -> Result<LoginCounts, DbError> {
        let [pair, ip, user] = keys.subjects();
        let mut tx = self.write().await?;
        // A window that has passed starts again (and may record a throttled attempt again).
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "INSERT INTO login_failures (scope, subject, failures, window_start)
             VALUES (?1, ?2, 1, ?7), (?3, ?4, 1, ?7), (?5, ?6, 1, ?7)
             ON CONFLICT (scope, subject) DO UPDATE SET
                 failures = CASE WHEN ?7 - window_start >= IIF(scope = 'user', ?9, ?8)
                                 THEN 1 ELSE failures + 1 END,
                 throttle_logged = CASE WHEN ?7 - window_start >= IIF(scope = 'user', ?9, ?8)
                                 THEN 0 ELSE throttle_logged END,
                 window_start = CASE WHEN ?7 - window_start >= IIF(scope = 'user', ?9, ?8)
                                 THEN ?7 ELSE window_start END
             RETURNING scope, failures, window_start",
        )
        .bind(pair.0)
        .bind(&pair.1)
        .bind(ip.0)
        .bind(&ip.1)
        .bind(user.0)
        .bind(&user.1)
        .bind(now)
        .bind(windows.address_secs)
        .bind(windows.user_secs)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counts_from(rows, windows, now))
    }

    async fn release_login_attempt(
        &self,
        keys: &ThrottleKeys,
        forget_pair: bool,
    ) -> Result<(), DbError> {
        let [pair, ip, user] = keys.subjects();
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1
             WHERE (scope, subject) IN ((?, ?), (?, ?), (?, ?)) AND failures > 0",
        )
        .bind(pair.0)
        .bind(&pair.1)
        .bind(ip.0)
        .bind(&ip.1)
        .bind(user.0)
        .bind(&user.1)
        .execute(&mut *tx)
        .await?;
        if forget_pair {
            sqlx::query("DELETE FROM login_failures WHERE scope = ? AND subject = ?")
                .bind(pair.0)
                .bind(&pair.1)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn note_login_throttled(
        &self,
        keys: &ThrottleKeys,
        now: i64,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let [pair, ..] = keys.subjects();
        let mut tx = self.write().await?;
        // The pair's row holds the flag, even when another counter did the throttling.
        let noted = sqlx::query(
            "INSERT INTO login_failures (scope, subject, failures, window_start, throttle_logged)
             VALUES (?1, ?2, 0, ?3, 1)
             ON CONFLICT (scope, subject) DO UPDATE SET throttle_logged = 1
             WHERE throttle_logged = 0",
        )
        .bind(pair.0)
        .bind(&pair.1)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if noted == 0 {
            return Ok(false);
        }
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn prune(&self, retention: Retention) -> Result<Pruned, DbError> {
        let batch = i64::from(retention.batch);
        let delete = |sql: &'static str| sqlx::query(sql).bind(batch);
        // Each statement is its own short transaction: requests wait at most one batch.
        let sessions = delete(
            "DELETE FROM sessions WHERE id IN (
                 SELECT id FROM sessions WHERE expires_at < ?2
                 UNION SELECT id FROM sessions WHERE revoked_at < ?2
                 UNION SELECT id FROM sessions WHERE last_used_at < ?3
                 LIMIT ?1)",
        )
        .bind(retention.sessions_ended_before)
        .bind(retention.sessions_idle_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let revocations = delete(
            "DELETE FROM session_revocations WHERE session_id IN (
                 SELECT session_id FROM session_revocations WHERE revoked_at < ?2 LIMIT ?1)",
        )
        .bind(retention.revocations_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let login_failures = delete(
            "DELETE FROM login_failures WHERE rowid IN (
                 SELECT rowid FROM login_failures
                 WHERE window_start <= ?2 - IIF(scope = 'user', ?4, ?3) LIMIT ?1)",
        )
        .bind(retention.now)
        .bind(retention.windows.address_secs)
        .bind(retention.windows.user_secs)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let events = delete(
            "DELETE FROM auth_events WHERE id IN (
                 SELECT id FROM auth_events WHERE at < ?2 ORDER BY at LIMIT ?1)",
        )
        .bind(retention.events_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(Pruned {
            sessions,
            revocations,
            login_failures,
            events,
        })
    }
}

/// The three counters from the rows found, as of `now`: a counter whose window has passed
/// counts as zero.
fn counts_from(rows: Vec<(String, i64, i64)>, windows: ThrottleWindows, now: i64) -> LoginCounts {
    let mut counts = LoginCounts::default();
    for (scope, failures, window_start) in rows {
        let (slot, window) = match scope.as_str() {
            "user_ip" => (&mut counts.user_ip, windows.address_secs),
            "ip" => (&mut counts.ip, windows.address_secs),
            _ => (&mut counts.user, windows.user_secs),
        };
        if now - window_start < window {
            *slot = Counter {
                failures,
                window_start,
            };
        }
    }
    counts
}
