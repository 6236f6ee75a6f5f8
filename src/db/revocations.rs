//! The record of revoked sessions (`session_revocations`), which every process reads to refuse
//! those sessions' access tokens, and the feed an engine may push them through.

use super::engine::{stmt, Backend, Engine};
use super::DbError;

/// A session revoked at `revoked_at`: what the access-token revocation set is built from.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RevokedSession {
    /// The revocation's place in the table's order (only grows; see the migration).
    pub seq: i64,
    pub id: String,
    pub revoked_at: i64,
}

/// What a revocation feed reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A session was revoked (by any instance).
    Revoked(RevokedSession),
    /// The feed lost its connection and has a new one: notifications may have been missed.
    Reconnected,
}

/// Revocations as they happen, from an engine that can push them.
#[async_trait::async_trait]
pub trait RevocationFeed: Send {
    /// The next revocation (waits for one).
    async fn next(&mut self) -> Result<FeedEvent, DbError>;
}

/// Reading revocations.
#[async_trait::async_trait]
pub trait RevocationStore: Send + Sync {
    /// Sessions revoked at or after `since`, for the access-token revocation set.
    async fn revoked_sessions_since(&self, since: i64) -> Result<Vec<RevokedSession>, DbError>;

    /// Revocations recorded after the one numbered `seq`, oldest first (at most `limit`).
    async fn revocations_after(&self, seq: i64, limit: u32)
        -> Result<Vec<RevokedSession>, DbError>;

    /// A feed of revocations as other instances make them, if the engine can push them
    /// (PostgreSQL `LISTEN`); `None` means: poll [`RevocationStore::revoked_sessions_since`].
    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError>;
}

const REVOKED_SINCE: &str = "SELECT seq, session_id AS id, revoked_at FROM session_revocations
     WHERE revoked_at >= $1 ORDER BY seq";

const REVOKED_AFTER: &str = "SELECT seq, session_id AS id, revoked_at FROM session_revocations
     WHERE seq > $1 ORDER BY seq LIMIT $2";

#[async_trait::async_trait]
impl<E: Engine> RevocationStore for Backend<E> {
    async fn revoked_sessions_since(&self, since: i64) -> Result<Vec<RevokedSession>, DbError> {
        self.fetch_all(stmt!(REVOKED_SINCE, since)).await
    }

    async fn revocations_after(
        &self,
        seq: i64,
        limit: u32,
    ) -> Result<Vec<RevokedSession>, DbError> {
        self.fetch_all(stmt!(REVOKED_AFTER, seq, i64::from(limit)))
            .await
    }

    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError> {
        self.engine.revocation_feed().await
    }
}
