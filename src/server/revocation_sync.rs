//! Keeps the in-memory set of revoked sessions (`auth::revocation`) complete.
//!
//! At start-up the server loads every revocation recent enough that an access token of that
//! session could still be unexpired. Revocations made by this process enter the set as they
//! commit. Revocations made by other processes sharing the database (another instance, the
//! `jwt-auth user remove` command) arrive in one of two ways:
//!
//! - **PostgreSQL** pushes them: a trigger on `session_revocations` sends a `NOTIFY`, which
//!   every instance `LISTEN`s to, so a logout on one instance reaches the others in
//!   milliseconds. Notifications are not queued for a disconnected listener, so after a
//!   reconnect, and every [`RELOAD_INTERVAL`] as a safety net, the table is read again.
//! - **SQLite** cannot push: the table is read every [`POLL_INTERVAL`].
//!
//! Each read reaches a few seconds further back than the previous one started, so a
//! transaction that committed late is not skipped; entries that no token can need any more are
//! dropped on the way.

use crate::auth::{unix_now, Auth};
use crate::db::{FeedEvent, RevocationFeed};
use std::{sync::Arc, time::Duration};

/// How often other processes' revocations are read when nothing pushes them.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often the table is read anyway when notifications do arrive.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(30);
/// How long to wait before listening again after the database could not be reached.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How far each read reaches back before the previous one started.
const OVERLAP_SECS: i64 = 5;

/// The start-up load.
pub async fn load(auth: &Auth) -> Result<usize, crate::auth::AuthError> {
    let now = unix_now();
    auth.sync_revocations(now - auth.jwt.max_token_age_secs(), now)
        .await
}

/// Follows other processes' revocations until the task is aborted (at shutdown).
pub async fn run(auth: Arc<Auth>) {
    match auth.db.revocation_feed().await {
        Ok(Some(feed)) => {
            // Anything revoked between the start-up load and the `LISTEN` is read now.
            if let Err(e) = load(&auth).await {
                tracing::warn!(error = %e, "reloading session revocations");
            }
            tokio::join!(poll(auth.clone(), RELOAD_INTERVAL), follow(auth, feed));
        }
        Ok(None) => poll(auth, POLL_INTERVAL).await,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for session revocations; polling instead");
            poll(auth, POLL_INTERVAL).await;
        }
    }
}

/// Applies pushed revocations as they arrive; catches up after every reconnect.
async fn follow(auth: Arc<Auth>, mut feed: Box<dyn RevocationFeed>) {
    loop {
        match feed.next().await {
            Ok(FeedEvent::Revoked(session)) => auth.revoked.insert(&session.id, session.revoked_at),
            Ok(FeedEvent::Reconnected) => {
                tracing::info!("revocation feed reconnected; reloading revocations");
                if let Err(e) = load(&auth).await {
                    tracing::warn!(error = %e, "reloading session revocations");
                }
            }
            Err(e) => {
                // The listener reconnects on the next call; what it missed is read now (or by
                // the periodic reload, if the database is still away).
                tracing::warn!(error = %e, "revocation feed failed; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                if let Err(e) = load(&auth).await {
                    tracing::warn!(error = %e, "reloading session revocations");
                }
            }
        }
    }
}

/// Reads the table every `every`.
async fn poll(auth: Arc<Auth>, every: Duration) {
    let mut since = unix_now() - OVERLAP_SECS;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = unix_now();
        match auth.sync_revocations(since, now).await {
            Ok(_) => since = now - OVERLAP_SECS,
            Err(e) => tracing::warn!(error = %e, "reading session revocations"),
        }
    }
}
