//! Sessions (one login each) and their refresh tokens (only hashes), with what a refresh, a
//! logout and the account page need.

use super::audit::{record, NewEvent};
use super::engine::{stmt, Backend, Driver, Engine, SqlTx, Statement};
use super::DbError;
use crate::model::{Amr, ClientInfo, RevokeReason, Role};

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

/// When a session counts as live at `now`: not revoked, before its absolute expiry, used since
/// `idle_since`.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub now: i64,
    pub idle_since: i64,
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

/// Sessions and their refresh tokens.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
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
}

const FIND_REFRESH_TOKEN: &str =
    "SELECT t.id, t.session_id, t.rotated_at, s.user_id, u.username, u.role,
            s.expires_at, s.last_used_at, s.revoked_at, u.locked_at IS NOT NULL AS locked, s.amr
     FROM refresh_tokens t
     JOIN sessions s ON s.id = t.session_id
     JOIN users u ON u.id = s.user_id
     WHERE t.token_hash = $1";

const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, ip, last_ip,
                           user_agent, amr)
     VALUES ($1, $2, $3, $4, $3, $5, $5, $6, $7)";

const INSERT_FIRST_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)";

const NOTE_LOGIN: &str = "UPDATE users SET last_login_at = $1 WHERE id = $2";

/// The rotation's statements, in order (SQLite's group commit runs its own batched form).
pub(crate) const CLAIM_PARENT: &str = "UPDATE refresh_tokens SET rotated_at = $1
     WHERE id = $2 AND rotated_at IS NULL
       AND session_id IN (SELECT id FROM sessions WHERE id = $3 AND revoked_at IS NULL)";
pub(crate) const INSERT_CHILD: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, parent_id, created_at)
     VALUES ($1, $2, $3, $4)";
pub(crate) const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_used_at = $1, last_ip = $2 WHERE id = $3";

const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
     WHERE id = $3 AND revoked_at IS NULL";

const LIST_SESSIONS: &str =
    "SELECT id, created_at, last_used_at, ip, last_ip, user_agent FROM sessions
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3
     ORDER BY last_used_at DESC, created_at DESC";

const REVOKE_OWN_SESSION: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
     WHERE id = $3 AND user_id = $4 AND revoked_at IS NULL
       AND expires_at > $1 AND last_used_at > $5";

const END_SESSIONS: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
     WHERE user_id = $3 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4)
     RETURNING id";

const RECORD_REVOCATION: &str = "INSERT INTO session_revocations (session_id, revoked_at)
     VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Revokes every unrevoked session of `user_id` but `keep`, records the revocations, and
/// returns their ids.
pub(crate) async fn end_sessions<DB: Driver>(
    tx: &mut SqlTx<DB>,
    user_id: i64,
    keep: Option<&str>,
    reason: RevokeReason,
    now: i64,
) -> Result<Vec<String>, DbError> {
    let ended: Vec<(String,)> = tx
        .fetch_all(stmt!(END_SESSIONS, now, reason, user_id, keep))
        .await?;
    let ended: Vec<String> = ended.into_iter().map(|(id,)| id).collect();
    record_revocations(tx, &ended, now).await?;
    Ok(ended)
}

/// Adds revocations to `session_revocations`, where other processes pick them up.
pub(crate) async fn record_revocations<DB: Driver>(
    tx: &mut SqlTx<DB>,
    sessions: &[String],
    now: i64,
) -> Result<(), DbError> {
    for id in sessions {
        tx.execute(stmt!(RECORD_REVOCATION, id, now)).await?;
    }
    Ok(())
}

/// A rotation in a transaction of its own: the form for engines that do not batch them.
pub(crate) async fn rotate_in<DB: Driver>(
    mut tx: SqlTx<DB>,
    rotation: Rotation<'_>,
    event: NewEvent<'_>,
) -> Result<bool, DbError> {
    let Rotation {
        parent_id,
        session_id,
        child_hash,
        now,
        client,
    } = rotation;
    let claimed = tx
        .execute(stmt!(CLAIM_PARENT, now, parent_id, session_id))
        .await?;
    if claimed != 1 {
        return Ok(false);
    }
    tx.execute(stmt!(INSERT_CHILD, child_hash, session_id, parent_id, now))
        .await?;
    tx.execute(stmt!(TOUCH_SESSION, now, client.ip_text(), session_id))
        .await?;
    record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(true)
}

impl<E: Engine> Backend<E> {
    /// Runs `revoke` (an `UPDATE` of `session_id`'s row) and, if it ended the session, records
    /// the revocation and `event` with it.
    async fn revoke_one(
        &self,
        revoke: Statement<'_>,
        session_id: &str,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.begin().await?;
        if tx.execute(revoke).await? == 0 {
            return Ok(false);
        }
        record_revocations(&mut tx, &[session_id.to_owned()], event.at).await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait::async_trait]
impl<E: Engine> SessionStore for Backend<E> {
    async fn find_refresh_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RefreshTokenRow>, DbError> {
        self.fetch_optional(stmt!(FIND_REFRESH_TOKEN, token_hash))
            .await
    }

    async fn start_session(
        &self,
        session: NewSession<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError> {
        let NewSession {
            id,
            user_id,
            amr,
            token_hash,
            now,
            expires_at,
            client,
        } = session;
        let mut tx = self.begin().await?;
        let (ip, agent) = (client.ip_text(), client.user_agent.as_deref());
        tx.execute(stmt!(
            INSERT_SESSION,
            id,
            user_id,
            now,
            expires_at,
            ip,
            agent,
            amr
        ))
        .await?;
        tx.execute(stmt!(INSERT_FIRST_TOKEN, token_hash, id, now))
            .await?;
        tx.execute(stmt!(NOTE_LOGIN, now, user_id)).await?;
        record(&mut tx, &event).await?;
        tx.commit().await
    }

    async fn rotate_refresh_token(
        &self,
        rotation: Rotation<'_>,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        self.engine.rotate(rotation, event).await
    }

    async fn revoke_session(
        &self,
        session_id: &str,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let revoke = stmt!(REVOKE_SESSION, event.at, reason, session_id);
        self.revoke_one(revoke, session_id, event).await
    }

    async fn list_sessions(
        &self,
        user_id: i64,
        live: Liveness,
    ) -> Result<Vec<SessionRow>, DbError> {
        self.fetch_all(stmt!(LIST_SESSIONS, user_id, live.now, live.idle_since))
            .await
    }

    async fn revoke_own_session(
        &self,
        user_id: i64,
        session_id: &str,
        live: Liveness,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let revoke = stmt!(
            REVOKE_OWN_SESSION,
            live.now,
            reason,
            session_id,
            user_id,
            live.idle_since
        );
        self.revoke_one(revoke, session_id, event).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError> {
        let mut tx = self.begin().await?;
        let ended = end_sessions(&mut tx, user_id, keep, reason, event.at).await?;
        if !ended.is_empty() {
            record(&mut tx, &event).await?;
            tx.commit().await?;
        }
        Ok(ended)
    }
}
