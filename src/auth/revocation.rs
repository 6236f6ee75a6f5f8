//! The set of revoked sessions whose access tokens could still be unexpired.
//!
//! Access tokens are checked without a database round trip, so logging out would otherwise
//! leave the access token working until its `exp`. Every revocation (logout, reuse detection,
//! an administrator) is added here the moment it commits, and the bearer check refuses tokens
//! whose `sid` is in the set: a hash lookup. An entry only needs to live as long as a token
//! issued just before the revocation: the token lifetime plus the leeway; older entries are
//! dropped, so the set stays as small as the revocations of the last few minutes.
//!
//! Several processes sharing one database learn each other's revocations (another instance,
//! the `jwt-auth user remove` command) from the `session_revocations` table, in one of two ways:
//!
//! - **PostgreSQL** pushes them: a trigger on the table sends a `NOTIFY`, which every instance
//!   `LISTEN`s to, so a logout on one instance reaches the others in milliseconds.
//!   Notifications are not queued for a disconnected listener, so after a reconnect, and every
//!   [`RELOAD_INTERVAL`] as a safety net, the table is read again.
//! - **SQLite** cannot push: the table is read every [`POLL_INTERVAL`].
//!
//! Polls read the revocations numbered after the last one seen: SQLite numbers them in commit
//! order (one writer at a time, a sequence that never goes back), so a revocation that
//! committed late is not skipped. Reloads (PostgreSQL's, whose sequence numbers can commit out
//! of order) reach a few seconds further back than the previous one started instead. Entries
//! no token can need any more are dropped on the way. At start-up,
//! [`Auth::load_revocations`] reads every revocation recent enough to matter.

use crate::auth::{Auth, AuthError};
use crate::db::{FeedEvent, RevocationFeed};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often other processes' revocations are read when nothing pushes them.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often the table is read anyway when notifications do arrive.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(30);
/// How long to wait before listening again after the database could not be reached.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How far each reload reaches back before the previous one started.
const OVERLAP_SECS: i64 = 5;
/// Revocations are kept this much longer than a token can live (in memory and in the table),
/// for clock skew between instances.
pub const MARGIN_SECS: i64 = 60;
/// The most revocations one poll reads (the next poll reads on).
const POLL_BATCH: u32 = 10_000;

/// Revoked session ids with the time they were revoked.
#[derive(Debug, Default)]
pub struct RevokedSessions {
    entries: RwLock<HashMap<String, i64>>,
}

impl RevokedSessions {
    /// Records that `session_id` was revoked at `at`.
    pub fn insert(&self, session_id: &str, at: i64) {
        if let Ok(mut entries) = self.entries.write() {
            entries.entry(session_id.to_owned()).or_insert(at);
        }
    }

    /// Records several revocations (start-up load, another server's revocations).
    pub fn extend(&self, revoked: impl IntoIterator<Item = (String, i64)>) {
        if let Ok(mut entries) = self.entries.write() {
            for (id, at) in revoked {
                entries.entry(id).or_insert(at);
            }
        }
    }

    /// Whether tokens of `session_id` must be refused. A poisoned lock (a panic while writing)
    /// refuses every token rather than letting a revoked one through.
    pub fn contains(&self, session_id: &str) -> bool {
        self.entries
            .read()
            .map(|entries| entries.contains_key(session_id))
            .unwrap_or(true)
    }

    /// Drops revocations older than `cutoff`: no token they could refuse is still unexpired.
    pub fn prune(&self, cutoff: i64) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, at| *at >= cutoff);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Auth {
    /// Loads the revocations recent enough to matter (at start-up, and to catch up with other
    /// processes) and forgets the ones that no longer can. Returns the newest one's number.
    pub async fn load_revocations(&self) -> Result<i64, AuthError> {
        let now = self.now();
        let recent = self
            .db
            .revoked_sessions_since(now - self.revocation_horizon_secs())
            .await?;
        Ok(self.remember(recent, now))
    }

    /// How long a revocation is kept: a token's lifetime, its leeway, and the margin.
    pub(crate) fn revocation_horizon_secs(&self) -> i64 {
        self.jwt.max_token_age_secs() + MARGIN_SECS
    }

    /// Adds `revoked` to the set, drops what no token can need; returns the highest number.
    fn remember(&self, revoked: Vec<crate::db::RevokedSession>, now: i64) -> i64 {
        let newest = revoked.iter().map(|r| r.seq).max().unwrap_or(0);
        self.revoked
            .extend(revoked.into_iter().map(|r| (r.id, r.revoked_at)));
        self.revoked.prune(now - self.revocation_horizon_secs());
        newest
    }

    /// Follows other processes' revocations until the task is aborted (at shutdown).
    pub async fn follow_revocations(self: Arc<Self>) {
        match self.db.revocation_feed().await {
            Ok(Some(feed)) => {
                // Anything revoked between the start-up load and the `LISTEN` is read now.
                self.reload_revocations().await;
                tokio::join!(
                    self.clone().reload_every(RELOAD_INTERVAL),
                    self.follow(feed)
                );
            }
            Ok(None) => self.poll(POLL_INTERVAL).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for session revocations; polling");
                self.poll(POLL_INTERVAL).await;
            }
        }
    }

    async fn reload_revocations(&self) {
        if let Err(e) = self.load_revocations().await {
            tracing::warn!(error = %e, "reloading session revocations");
        }
    }

    /// Applies pushed revocations as they arrive; catches up after every reconnect.
    async fn follow(self: Arc<Self>, mut feed: Box<dyn RevocationFeed>) {
        loop {
            match feed.next().await {
                Ok(FeedEvent::Revoked(session)) => {
                    self.revoked.insert(&session.id, session.revoked_at)
                }
                Ok(FeedEvent::Reconnected) => {
                    tracing::info!("revocation feed reconnected; reloading revocations");
                    self.reload_revocations().await;
                }
                Err(e) => {
                    // The listener reconnects on the next call; what it missed is read now (or
                    // by the periodic reload, if the database is still away).
                    tracing::warn!(error = %e, "revocation feed failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    self.reload_revocations().await;
                }
            }
        }
    }

    /// Reads the revocations numbered after the last one seen, every `every`.
    async fn poll(self: Arc<Self>, every: Duration) {
        // From the newest number there is: what is older was loaded at start.
        let mut seen = self.newest_revocation().await;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.db.revocations_after(seen, POLL_BATCH).await {
                Ok(revoked) => seen = seen.max(self.remember(revoked, self.now())),
                Err(e) => tracing::warn!(error = %e, "reading session revocations"),
            }
        }
    }

    /// The number of the newest revocation recent enough to matter (0 when there is none).
    async fn newest_revocation(&self) -> i64 {
        let since = self.now() - self.revocation_horizon_secs();
        match self.db.revoked_sessions_since(since).await {
            Ok(recent) => recent.iter().map(|r| r.seq).max().unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Reads the recent revocations again every `every` (the safety net under `LISTEN`).
    async fn reload_every(self: Arc<Self>, every: Duration) {
        let mut since = self.now();
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = self.now();
            match self.reload_since(since).await {
                Ok(()) => since = now,
                Err(e) => tracing::warn!(error = %e, "reloading session revocations"),
            }
        }
    }

    /// Reads again what was revoked since a little before `since`.
    async fn reload_since(&self, since: i64) -> Result<(), AuthError> {
        let recent = self.db.revoked_sessions_since(since - OVERLAP_SECS).await?;
        self.remember(recent, self.now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_are_found_until_pruned() {
        let set = RevokedSessions::default();
        set.insert("a", 100);
        set.extend([("b".to_owned(), 200)]);
        assert!(set.contains("a") && set.contains("b") && !set.contains("c"));
        set.prune(150);
        assert!(!set.contains("a"));
        assert!(set.contains("b"));
        assert_eq!(set.len(), 1);
    }
}
