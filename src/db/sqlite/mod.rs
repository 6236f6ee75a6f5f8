//! The SQLite backend: one file in WAL mode, migrations from `migrations/sqlite/`.
//!
//! WAL lets page loads read while a refresh writes; the busy timeout makes concurrent writers
//! queue instead of failing with `SQLITE_BUSY`; `synchronous = FULL` makes every committed
//! transaction durable across a crash or power loss. Every step that writes runs in one
//! `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock at once: the steps that check
//! and then write (rotation) cannot interleave. Refresh rotations, the frequent write, are
//! group-committed (`group_commit`).

use super::{
    AccountChange, ChallengeRow, Counter, DbError, EventFilter, EventRow, Liveness, LoginCounts,
    NewEvent, NewSession, NewUser, Pruned, RefreshTokenRow, Retention, RevocationFeed,
    RevokedSession, Rotation, SessionRow, Store, ThrottleKeys, ThrottleWindows, TotpFactorRow,
    UserRow, UserSummary,
};
use crate::model::{RevokeReason, Role};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::{str::FromStr, time::Duration};

mod group_commit;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers.
    pool: SqlitePool,
    /// The one writer connection (see `connect`).
    writer: SqlitePool,
    /// Refresh rotations, group-committed on `writer`.
    rotations: group_commit::Rotations,
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
        // Every write goes through one connection: SQLite has one writer at a time anyway, and
        // waiting in the pool's queue is first come, first served, where competing connections
        // would wait in SQLite's busy handler, which sleeps and retries and lets a late
        // arrival overtake a request that has waited for long (a p99 of 100+ ms under load).
        // Other processes (the `jwt-auth user` commands) still meet the busy timeout.
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
        let rotations = group_commit::Rotations::start(writer.clone());
        Ok(Self {
            pool,
            writer,
            rotations,
        })
    }

    async fn write(&self) -> Result<Transaction<'static, Sqlite>, DbError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

async fn insert_event(
    tx: &mut Transaction<'_, Sqlite>,
    event: &NewEvent<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO auth_events (at, kind, username, family_id, ip, user_agent, actor)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.at)
    .bind(event.kind)
    .bind(event.username)
    .bind(event.family_id)
    .bind(event.client.ip_text())
    .bind(event.client.user_agent.as_deref())
    .bind(event.actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn find_user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT id, username, password_hash, role, is_demo, locked_at IS NOT NULL AS locked
             FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn insert_user(&self, user: NewUser<'_>, event: NewEvent<'_>) -> Result<i64, DbError> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, role, is_demo, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(user.username)
        .bind(user.password_hash)
        .bind(user.role)
        .bind(user.is_demo)
        .bind(user.now)
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(result.last_insert_rowid())
    }

    async fn mark_demo_user(&self, user_id: i64) -> Result<(), DbError> {
        sqlx::query("UPDATE users SET is_demo = 1 WHERE id = ?")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn remove_user(&self, username: &str, event: NewEvent<'_>) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        // Its sessions go with it; their access tokens must stop working too.
        sqlx::query(
            "INSERT OR IGNORE INTO session_revocations (session_id, revoked_at)
             SELECT s.id, ?1 FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE u.username = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?1",
        )
        .bind(event.at)
        .bind(username)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query("DELETE FROM users WHERE username = ?")
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            insert_event(&mut tx, &event).await?;
            tx.commit().await?;
        }
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
                    s.expires_at, s.last_used_at, s.revoked_at, u.locked_at IS NOT NULL AS locked,
                    s.amr
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
                                   user_agent, amr)
             VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?5, ?6, ?7)",
        )
        .bind(session.id)
        .bind(session.user_id)
        .bind(session.now)
        .bind(session.expires_at)
        .bind(session.client.ip_text())
        .bind(session.client.user_agent.as_deref())
        .bind(session.amr)
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
        sqlx::query("UPDATE users SET last_login_at = ? WHERE id = ?")
            .bind(session.now)
            .bind(session.user_id)
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
        self.rotations.rotate(rotation, event).await
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

    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError> {
        Ok(None)
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
        .execute(&self.writer)
        .await?
        .rows_affected();
        let revocations = delete(
            "DELETE FROM session_revocations WHERE session_id IN (
                 SELECT session_id FROM session_revocations WHERE revoked_at < ?2 LIMIT ?1)",
        )
        .bind(retention.revocations_before)
        .execute(&self.writer)
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
        .execute(&self.writer)
        .await?
        .rows_affected();
        let events = delete(
            "DELETE FROM auth_events WHERE id IN (
                 SELECT id FROM auth_events WHERE at < ?2 ORDER BY at LIMIT ?1)",
        )
        .bind(retention.events_before)
        .execute(&self.writer)
        .await?
        .rows_affected();
        let challenges = delete(
            "DELETE FROM mfa_challenges WHERE challenge_hash IN (
                 SELECT challenge_hash FROM mfa_challenges WHERE expires_at < ?2 LIMIT ?1)",
        )
        .bind(retention.now)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(Pruned {
            sessions,
            revocations,
            login_failures,
            events,
            challenges,
        })
    }

    async fn list_sessions(
        &self,
        user_id: i64,
        live: Liveness,
    ) -> Result<Vec<SessionRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT id, created_at, last_used_at, ip, last_ip, user_agent FROM sessions
             WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_used_at > ?
             ORDER BY last_used_at DESC, created_at DESC",
        )
        .bind(user_id)
        .bind(live.now)
        .bind(live.idle_since)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn revoke_own_session(
        &self,
        user_id: i64,
        session_id: &str,
        live: Liveness,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2
             WHERE id = ?3 AND user_id = ?4 AND revoked_at IS NULL
               AND expires_at > ?1 AND last_used_at > ?5",
        )
        .bind(live.now)
        .bind(reason)
        .bind(session_id)
        .bind(user_id)
        .bind(live.idle_since)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked == 0 {
            return Ok(false);
        }
        record_revocations(&mut tx, &[session_id.to_owned()], live.now).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError> {
        let mut tx = self.write().await?;
        let ended = end_sessions(&mut tx, user_id, keep, reason, event.at).await?;
        if !ended.is_empty() {
            insert_event(&mut tx, &event).await?;
            tx.commit().await?;
        }
        Ok(ended)
    }

    async fn change_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = end_sessions(
            &mut tx,
            user_id,
            Some(keep),
            RevokeReason::PasswordChanged,
            event.at,
        )
        .await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn list_users(&self, live: Liveness) -> Result<Vec<UserSummary>, DbError> {
        Ok(sqlx::query_as(
            "SELECT u.username, u.role, u.locked_at IS NOT NULL AS locked, u.created_at,
                    u.last_login_at,
                    (SELECT COUNT(*) FROM sessions s
                     WHERE s.user_id = u.id AND s.revoked_at IS NULL
                       AND s.expires_at > ?1 AND s.last_used_at > ?2) AS sessions,
                    EXISTS (SELECT 1 FROM totp_factors f
                            WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL) AS totp_enabled
             FROM users u ORDER BY u.username COLLATE NOCASE",
        )
        .bind(live.now)
        .bind(live.idle_since)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn set_locked(
        &self,
        username: &str,
        locked: bool,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError> {
        let mut tx = self.write().await?;
        let Some((user_id, role, was_locked)) = account(&mut tx, username).await? else {
            return Ok(AccountChange::NotFound);
        };
        if locked && role == Role::Admin && !was_locked && active_admins(&mut tx).await? <= 1 {
            return Ok(AccountChange::LastAdmin);
        }
        if locked == was_locked {
            return Ok(AccountChange::Done {
                ended_sessions: Vec::new(),
            });
        }
        sqlx::query("UPDATE users SET locked_at = ? WHERE id = ?")
            .bind(locked.then_some(event.at))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended_sessions = if locked {
            end_sessions(
                &mut tx,
                user_id,
                None,
                RevokeReason::AccountLocked,
                event.at,
            )
            .await?
        } else {
            Vec::new()
        };
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(AccountChange::Done { ended_sessions })
    }

    async fn set_role(
        &self,
        username: &str,
        role: Role,
        event: NewEvent<'_>,
    ) -> Result<AccountChange, DbError> {
        let mut tx = self.write().await?;
        let Some((user_id, was, locked)) = account(&mut tx, username).await? else {
            return Ok(AccountChange::NotFound);
        };
        if was == role {
            return Ok(AccountChange::Done {
                ended_sessions: Vec::new(),
            });
        }
        if was == Role::Admin && !locked && active_admins(&mut tx).await? <= 1 {
            return Ok(AccountChange::LastAdmin);
        }
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended_sessions =
            end_sessions(&mut tx, user_id, None, RevokeReason::RoleChanged, event.at).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(AccountChange::Done { ended_sessions })
    }

    async fn totp_factor(&self, user_id: i64) -> Result<Option<TotpFactorRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT key_id, secret, enabled_at IS NOT NULL AS enabled, last_step
             FROM totp_factors WHERE user_id = ?",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn save_pending_totp(
        &self,
        user_id: i64,
        key_id: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let saved = sqlx::query(
            "INSERT INTO totp_factors (user_id, key_id, secret, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id) DO UPDATE SET key_id = ?2, secret = ?3, created_at = ?4,
                                                 last_step = NULL
             WHERE enabled_at IS NULL",
        )
        .bind(user_id)
        .bind(key_id)
        .bind(secret)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(saved > 0)
    }

    async fn users_with_totp_sealed_by_other_keys(
        &self,
        key_id: &str,
    ) -> Result<Vec<i64>, DbError> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM totp_factors WHERE key_id <> ? ORDER BY user_id",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn reseal_totp(&self, user_id: i64, key_id: &str, secret: &[u8]) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE totp_factors SET key_id = ?, secret = ? WHERE user_id = ?")
            .bind(key_id)
            .bind(secret)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enable_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_hashes: &[[u8; 32]],
        keep: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError> {
        let mut tx = self.write().await?;
        let enabled = sqlx::query(
            "UPDATE totp_factors SET enabled_at = ?, last_step = ?
             WHERE user_id = ? AND enabled_at IS NULL",
        )
        .bind(event.at)
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if enabled == 0 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(user_id)
                .bind(&hash[..])
                .execute(&mut *tx)
                .await?;
        }
        let ended = end_sessions(
            &mut tx,
            user_id,
            Some(keep),
            RevokeReason::MfaChanged,
            event.at,
        )
        .await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    async fn remove_totp(
        &self,
        user_id: i64,
        keep: Option<&str>,
        event: NewEvent<'_>,
    ) -> Result<Option<Vec<String>>, DbError> {
        let mut tx = self.write().await?;
        let removed = sqlx::query("DELETE FROM totp_factors WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended =
            end_sessions(&mut tx, user_id, keep, RevokeReason::MfaChanged, event.at).await?;
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let used = sqlx::query(
            "UPDATE totp_factors SET last_step = ?1
             WHERE user_id = ?2 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < ?1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(used > 0)
    }

    async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = ?
             WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(&code_hash[..])
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(used > 0)
    }

    async fn create_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO mfa_challenges (challenge_hash, user_id, created_at, expires_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(&challenge_hash[..])
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<ChallengeRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT c.user_id, u.username, u.role, u.locked_at IS NOT NULL AS locked, c.attempts
             FROM mfa_challenges c JOIN users u ON u.id = c.user_id
             WHERE c.challenge_hash = ? AND c.used_at IS NULL AND c.expires_at > ?",
        )
        .bind(&challenge_hash[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn fail_mfa_challenge(&self, challenge_hash: &[u8; 32]) -> Result<(), DbError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE challenge_hash = ?")
            .bind(&challenge_hash[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_mfa_challenge(
        &self,
        challenge_hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, DbError> {
        let mut tx = self.write().await?;
        let used = sqlx::query(
            "UPDATE mfa_challenges SET used_at = ?1
             WHERE challenge_hash = ?2 AND used_at IS NULL AND expires_at > ?1",
        )
        .bind(now)
        .bind(&challenge_hash[..])
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(used > 0)
    }

    async fn list_events(
        &self,
        filter: EventFilter<'_>,
        limit: u32,
    ) -> Result<Vec<EventRow>, DbError> {
        Ok(sqlx::query_as(
            "SELECT id, at, kind, username, ip, user_agent, actor FROM auth_events
             WHERE (?1 IS NULL OR id < ?1)
               AND (?2 IS NULL OR username = ?2 COLLATE NOCASE)
               AND (?3 IS NULL OR kind = ?3)
             ORDER BY id DESC LIMIT ?4",
        )
        .bind(filter.before_id)
        .bind(filter.username)
        .bind(filter.kind)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// The id, role and lock state of the account `username`.
async fn account(
    tx: &mut Transaction<'_, Sqlite>,
    username: &str,
) -> Result<Option<(i64, Role, bool)>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, role, locked_at IS NOT NULL FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Administrators who can still log in.
async fn active_admins(tx: &mut Transaction<'_, Sqlite>) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND locked_at IS NULL")
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Revokes every unrevoked session of `user_id` but `keep`, records the revocations, and
/// returns their ids.
async fn end_sessions(
    tx: &mut Transaction<'_, Sqlite>,
    user_id: i64,
    keep: Option<&str>,
    reason: RevokeReason,
    now: i64,
) -> Result<Vec<String>, DbError> {
    let ended: Vec<String> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2
         WHERE user_id = ?3 AND revoked_at IS NULL AND (?4 IS NULL OR id != ?4)
         RETURNING id",
    )
    .bind(now)
    .bind(reason)
    .bind(user_id)
    .bind(keep)
    .fetch_all(&mut **tx)
    .await?;
    record_revocations(tx, &ended, now).await?;
    Ok(ended)
}

/// Adds revocations to `session_revocations`, where other processes pick them up.
async fn record_revocations(
    tx: &mut Transaction<'_, Sqlite>,
    sessions: &[String],
    now: i64,
) -> Result<(), DbError> {
    for id in sessions {
        sqlx::query(
            "INSERT OR IGNORE INTO session_revocations (session_id, revoked_at) VALUES (?, ?)",
        )
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
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
