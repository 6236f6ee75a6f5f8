//! Sessions (one login each), each row holding its refresh-token chain: the live token's hash,
//! its parent's, and when and by whom it was rotated. A refresh is one `UPDATE` of that row, so
//! a session costs one row however often it is refreshed.

use super::audit::{record, NewEvent};
use super::engine::{stmt, Backend, Driver, Engine, SqlTx, Statement};
use super::DbError;
use crate::model::{Amr, ClientInfo, RevokeReason, Role};
use std::fmt;

/// A session with its token chain and its owner, as a refresh (or logout, or a page) needs it.
#[derive(Clone, sqlx::FromRow)]
pub struct SessionTokenRow {
    pub session_id: String,
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The owner's account is locked.
    pub locked: bool,
    /// The session's absolute end.
    pub expires_at: i64,
    /// The session's idle expiry counts from here.
    pub last_used_at: i64,
    pub revoked_at: Option<i64>,
    /// How the session's user authenticated.
    pub amr: Amr,
    /// The last authentication (the login, or a re-authentication since).
    pub auth_time: i64,
    /// SHA-256 of the live token's secret.
    pub token_hash: Vec<u8>,
    /// SHA-256 of its parent's secret (none before the first refresh).
    pub parent_hash: Option<Vec<u8>>,
    /// When the parent was rotated into the live token.
    pub rotated_at: Option<i64>,
    /// Who rotated it (a digest of the client's address and user agent).
    pub rotated_by: Option<Vec<u8>>,
    /// Rotations so far.
    pub refresh_count: i64,
}

impl fmt::Debug for SessionTokenRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokenRow")
            .field("session_id", &self.session_id)
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("revoked_at", &self.revoked_at)
            .field("rotated_at", &self.rotated_at)
            .field("refresh_count", &self.refresh_count)
            .finish_non_exhaustive()
    }
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

/// A session, live or ended, as a data export lists it (no token material).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub ip: Option<String>,
    pub last_ip: Option<String>,
    pub user_agent: Option<String>,
    pub refresh_count: i64,
}

/// When a session counts as live at `now`: not revoked, before its absolute expiry, used since
/// `idle_since`.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub now: i64,
    pub idle_since: i64,
}

/// A session to start, with its first refresh token (only the hash of its secret).
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    /// The account's security epoch when the login checked its password: the session starts
    /// only if it is still the same (and the account unlocked).
    pub epoch: i64,
    pub amr: Amr,
    pub token_hash: &'a [u8; 32],
    pub now: i64,
    pub expires_at: i64,
    pub client: &'a ClientInfo,
}

/// A rotation: session `session_id`'s live token `parent_hash` replaced by `child_hash`.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    pub session_id: &'a str,
    pub parent_hash: &'a [u8; 32],
    pub child_hash: &'a [u8; 32],
    /// The digest of the rotating client (see `rotated_by`).
    pub client_digest: &'a [u8; 32],
    pub now: i64,
    pub client: &'a ClientInfo,
}

/// Sessions and their refresh tokens.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// A session by id, with its owner. Read-only.
    async fn find_session(&self, session_id: &str) -> Result<Option<SessionTokenRow>, DbError>;

    /// The session whose live token, issued before tokens named their session, has this hash.
    async fn find_legacy_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<SessionTokenRow>, DbError>;

    /// Starts a session and records `event`, together, if the account is unlocked and still
    /// at the session's epoch (no lock, role, password or second-factor change, and no "end
    /// sessions", since the login read it). Returns whether it did.
    async fn start_session(
        &self,
        session: NewSession<'_>,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError>;

    /// Replaces the live token by its child, if it still is the live token of an unrevoked
    /// session. Returns whether it did; `false` means another request got there first.
    async fn rotate_refresh_token(&self, rotation: Rotation<'_>) -> Result<bool, DbError>;

    /// Marks a re-authentication: the session's `auth_time` becomes `now`, if it is a live
    /// session of `user_id`. Returns whether it was.
    async fn reauthenticate(
        &self,
        user_id: i64,
        session_id: &str,
        now: i64,
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

    /// Every stored session of `user_id`, live or ended, newest first (a data export).
    async fn session_records(&self, user_id: i64) -> Result<Vec<SessionRecord>, DbError>;

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

    /// Revokes every live session of `user_id` but `keep` (and any login of theirs in flight),
    /// records `event` if any ended, and returns their ids.
    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevokeReason,
        event: NewEvent<'_>,
    ) -> Result<Vec<String>, DbError>;
}

/// A [`SessionTokenRow`] query: these columns, and a `WHERE` clause.
macro_rules! session_token_row {
    ($where:literal) => {
        concat!(
            "SELECT s.id AS session_id, s.user_id, u.username, u.role,
                    u.locked_at IS NOT NULL AS locked, s.expires_at, s.last_used_at,
                    s.revoked_at, s.amr, s.auth_time, s.token_hash, s.parent_hash,
                    s.rotated_at, s.rotated_by, s.refresh_count
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE ",
            $where
        )
    };
}

const FIND_SESSION: &str = session_token_row!("s.id = $1");

const FIND_LEGACY_SESSION: &str = session_token_row!("s.token_hash = $1 AND s.legacy = TRUE");

/// The account a session starts for, as the login saw it; locked (shared) for the rest of the
/// transaction where rows can be, so a concurrent lock or change waits for this session to
/// exist and then ends it too, or this one waits and finds the epoch moved.
const STILL_AT_EPOCH: &str =
    "SELECT id FROM users WHERE id = $1 AND security_epoch = $2 AND locked_at IS NULL";
const STILL_AT_EPOCH_LOCKED: &str =
    "SELECT id FROM users WHERE id = $1 AND security_epoch = $2 AND locked_at IS NULL
     FOR SHARE";

const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, ip, last_ip,
                           user_agent, amr, token_hash, auth_time)
     VALUES ($1, $2, $3, $4, $3, $5, $5, $6, $7, $8, $3)";

const NOTE_LOGIN: &str = "UPDATE users SET last_login_at = $1 WHERE id = $2";

/// The rotation, one statement (SQLite's group commit runs its own batched form).
pub(crate) const ROTATE: &str = "UPDATE sessions
     SET parent_hash = token_hash, token_hash = $1, rotated_at = $2, rotated_by = $3,
         last_used_at = $2, last_ip = $4, refresh_count = refresh_count + 1, legacy = FALSE
     WHERE id = $5 AND token_hash = $6 AND revoked_at IS NULL";

const REAUTHENTICATE: &str = "UPDATE sessions SET auth_time = $1
     WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1";

const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
     WHERE id = $3 AND revoked_at IS NULL";

const LIST_SESSIONS: &str =
    "SELECT id, created_at, last_used_at, ip, last_ip, user_agent FROM sessions
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_used_at > $3
     ORDER BY last_used_at DESC, created_at DESC";

const SESSION_RECORDS: &str = "SELECT id, created_at, last_used_at, expires_at, revoked_at,
            revoked_reason, ip, last_ip, user_agent, refresh_count
     FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id";

const REVOKE_OWN_SESSION: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
     WHERE id = $3 AND user_id = $4 AND revoked_at IS NULL
       AND expires_at > $1 AND last_used_at > $5";

const END_SESSIONS: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2
     WHERE user_id = $3 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4)
     RETURNING id";

const BUMP_EPOCH: &str = "UPDATE users SET security_epoch = security_epoch + 1 WHERE id = $1";

const RECORD_REVOCATION: &str = "INSERT INTO session_revocations (session_id, revoked_at)
     VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Revokes every unrevoked session of `user_id` but `keep`, records the revocations, and
/// returns their ids. It also moves the user's security epoch on, which ends every login of
/// theirs still in flight (its session will not start) and every second-step challenge.
pub(crate) async fn end_sessions<DB: Driver>(
    tx: &mut SqlTx<DB>,
    user_id: i64,
    keep: Option<&str>,
    reason: RevokeReason,
    now: i64,
) -> Result<Vec<String>, DbError> {
    tx.execute(stmt!(BUMP_EPOCH, user_id)).await?;
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

/// The rotation statement for `rotation`.
pub(crate) fn rotate_statement<'a>(rotation: &Rotation<'a>) -> Statement<'a> {
    stmt!(
        ROTATE,
        rotation.child_hash,
        rotation.now,
        rotation.client_digest,
        rotation.client.ip_text(),
        rotation.session_id,
        rotation.parent_hash,
    )
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
    async fn find_session(&self, session_id: &str) -> Result<Option<SessionTokenRow>, DbError> {
        self.fetch_optional(stmt!(FIND_SESSION, session_id)).await
    }

    async fn find_legacy_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<SessionTokenRow>, DbError> {
        self.fetch_optional(stmt!(FIND_LEGACY_SESSION, token_hash))
            .await
    }

    async fn start_session(
        &self,
        session: NewSession<'_>,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let NewSession {
            id,
            user_id,
            epoch,
            amr,
            token_hash,
            now,
            expires_at,
            client,
        } = session;
        let mut tx = self.begin().await?;
        let still = Self::locking(STILL_AT_EPOCH, STILL_AT_EPOCH_LOCKED);
        let account: Option<(i64,)> = tx.fetch_optional(stmt!(still, user_id, epoch)).await?;
        if account.is_none() {
            return Ok(false);
        }
        let (ip, agent) = (client.ip_text(), client.user_agent.as_deref());
        tx.execute(stmt!(
            INSERT_SESSION,
            id,
            user_id,
            now,
            expires_at,
            ip,
            agent,
            amr,
            token_hash
        ))
        .await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        // Outside the transaction: concurrent logins of one account each hold its row shared,
        // and none may wait for the others to write it.
        self.execute(stmt!(NOTE_LOGIN, now, user_id)).await?;
        Ok(true)
    }

    async fn rotate_refresh_token(&self, rotation: Rotation<'_>) -> Result<bool, DbError> {
        self.engine.rotate(rotation).await
    }

    async fn reauthenticate(
        &self,
        user_id: i64,
        session_id: &str,
        now: i64,
    ) -> Result<bool, DbError> {
        let st = stmt!(REAUTHENTICATE, now, session_id, user_id);
        Ok(self.execute(st).await? > 0)
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

    async fn session_records(&self, user_id: i64) -> Result<Vec<SessionRecord>, DbError> {
        self.fetch_all(stmt!(SESSION_RECORDS, user_id)).await
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
        }
        // Committed even when no session was live: the epoch moved (logins in flight end).
        tx.commit().await?;
        Ok(ended)
    }
}
