//! Retention: what is no longer needed is deleted, so the database does not grow with every
//! refresh and every login attempt for ever.
//!
//! Once at start and then every [`INTERVAL`], a pass deletes, in batches of [`BATCH`] rows
//! (each its own short statement, so a request waits at most one batch for the write lock):
//! sessions (with their tokens) that expired, went idle or were revoked more than
//! `SESSION_RETENTION_DAYS` ago; revocations no access token can need any more; login-failure
//! counters whose window has passed; second-step challenges that expired; audit events older
//! than `AUDIT_RETENTION_DAYS`; mail links a day after they were used or expired, sent mails a
//! day after they went out, and mails that failed for good after 30 days.

use crate::auth::{Auth, AuthError};
use crate::db::{Pruned, Retention};
use std::{sync::Arc, time::Duration};

/// How often a pass runs.
pub const INTERVAL: Duration = Duration::from_secs(300);
/// Rows per delete statement.
pub const BATCH: u32 = 500;

const DAY_SECS: i64 = 86_400;

/// How long ended sessions and audit events are kept, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub session_days: i64,
    pub audit_days: i64,
}

impl Auth {
    /// What a pass at `now` deletes.
    fn retention(&self, now: i64) -> Retention {
        let sessions_kept = self.retention.session_days * DAY_SECS;
        Retention {
            sessions_ended_before: now - sessions_kept,
            sessions_idle_before: now - self.sessions.idle_ttl_secs - sessions_kept,
            revocations_before: now - self.revocation_horizon_secs(),
            events_before: now - self.retention.audit_days * DAY_SECS,
            failures_before: now - self.throttle.longest_window_secs(),
            mail_before: now - DAY_SECS,
            failed_mail_before: now - 30 * DAY_SECS,
            now,
            batch: BATCH,
        }
    }

    /// One full pass as of `now`: batches until nothing is left to delete. Returns the totals.
    pub async fn retention_pass(&self, now: i64) -> Result<Pruned, AuthError> {
        let retention = self.retention(now);
        let mut total = Pruned::default();
        loop {
            let batch = self.db.prune(retention).await?;
            total += batch;
            if batch.total() == 0 {
                return Ok(total);
            }
            // Let waiting requests have the database between batches.
            tokio::task::yield_now().await;
        }
    }

    /// Runs a pass now and then every [`INTERVAL`] until the task is aborted (at shutdown).
    pub async fn keep_retention(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.retention_pass(self.now()).await {
                Ok(pruned) if pruned.total() > 0 => tracing::info!(?pruned, "retention pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention pass failed"),
            }
        }
    }
}
