//! Keeps the in-memory set of revoked sessions (`auth::revocation`) complete.
//!
//! At start-up the server loads every revocation recent enough that an access token of that
//! session could still be unexpired. Revocations made by this process enter the set as they
//! commit. Revocations made by other processes sharing the database (a second instance, the
//! `jwt-auth user remove` command) are read from `session_revocations` once a second, with a
//! few seconds of overlap so a transaction that committed late is not skipped; entries that no
//! token can need any more are dropped on the way.

use crate::auth::{unix_now, Auth};
use std::{sync::Arc, time::Duration};

/// How often other processes' revocations are picked up.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far each poll reaches back before the previous one started.
const OVERLAP_SECS: i64 = 5;

/// The start-up load.
pub async fn load(auth: &Auth) -> Result<usize, crate::auth::AuthError> {
    let now = unix_now();
    auth.sync_revocations(now - auth.jwt.max_token_age_secs(), now)
        .await
}

/// Polls for revocations until the task is aborted (at shutdown).
pub async fn run(auth: Arc<Auth>) {
    let mut since = unix_now() - OVERLAP_SECS;
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = unix_now();
        match auth.sync_revocations(since, now).await {
            Ok(_) => since = now - OVERLAP_SECS,
            Err(e) => tracing::warn!(error = %e, "polling session revocations"),
        }
    }
}
