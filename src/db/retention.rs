//! Deleting what nothing needs any more, a batch at a time (each its own short statement, so a
//! request waits at most one batch for the write lock).

use super::engine::{stmt, Backend, Engine};
use super::DbError;
use std::ops::AddAssign;

/// What a retention pass deletes: rows ended before these times (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Sessions that expired or were revoked before this (their tokens go along).
    pub sessions_ended_before: i64,
    /// Sessions last used before this have been idle too long (and retained long enough).
    pub sessions_idle_before: i64,
    /// Revocations no access token can need any more.
    pub revocations_before: i64,
    /// Audit events older than this.
    pub events_before: i64,
    /// Failure counters whose window started before this (the longest window ago).
    pub failures_before: i64,
    /// Sent mails, and mail links used or expired, before this.
    pub mail_before: i64,
    /// Mails that failed for good, queued before this (admins have seen them by then).
    pub failed_mail_before: i64,
    pub now: i64,
    /// Rows per delete statement, so a pass never holds the write lock for long.
    pub batch: u32,
}

/// What one retention batch (or a whole pass) deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub revocations: u64,
    pub login_failures: u64,
    pub events: u64,
    pub challenges: u64,
    /// Mail links and outbox rows.
    pub mail: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.sessions
            + self.revocations
            + self.login_failures
            + self.events
            + self.challenges
            + self.mail
    }
}

impl AddAssign for Pruned {
    fn add_assign(&mut self, batch: Pruned) {
        self.sessions += batch.sessions;
        self.revocations += batch.revocations;
        self.login_failures += batch.login_failures;
        self.events += batch.events;
        self.challenges += batch.challenges;
        self.mail += batch.mail;
    }
}

/// Retention.
#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes one batch of each kind of expired row; call again while anything was deleted.
    async fn prune(&self, retention: Retention) -> Result<Pruned, DbError>;
}

const PRUNE_SESSIONS: &str = "DELETE FROM sessions WHERE id IN (
         SELECT id FROM sessions WHERE expires_at < $2
         UNION SELECT id FROM sessions WHERE revoked_at < $2
         UNION SELECT id FROM sessions WHERE last_used_at < $3
         LIMIT $1)";

const PRUNE_REVOCATIONS: &str = "DELETE FROM session_revocations WHERE session_id IN (
         SELECT session_id FROM session_revocations WHERE revoked_at < $2 LIMIT $1)";

const PRUNE_LOGIN_FAILURES: &str = "DELETE FROM login_failures WHERE (scope, subject) IN (
         SELECT scope, subject FROM login_failures WHERE window_start <= $2 LIMIT $1)";

const PRUNE_EVENTS: &str = "DELETE FROM auth_events WHERE id IN (
         SELECT id FROM auth_events WHERE at < $2 ORDER BY at LIMIT $1)";

const PRUNE_CHALLENGES: &str = "DELETE FROM mfa_challenges WHERE challenge_hash IN (
         SELECT challenge_hash FROM mfa_challenges WHERE expires_at < $2 LIMIT $1)";

const PRUNE_LINKS: &str = "DELETE FROM mail_links WHERE token_hash IN (
         SELECT token_hash FROM mail_links WHERE expires_at < $2
         UNION SELECT token_hash FROM mail_links WHERE used_at < $2
         LIMIT $1)";

const PRUNE_OUTBOX: &str = "DELETE FROM mail_outbox WHERE id IN (
         SELECT id FROM mail_outbox WHERE state = 'sent' AND sent_at < $2
         UNION SELECT id FROM mail_outbox WHERE state = 'failed' AND created_at < $3
         LIMIT $1)";

#[async_trait::async_trait]
impl<E: Engine> RetentionStore for Backend<E> {
    async fn prune(&self, r: Retention) -> Result<Pruned, DbError> {
        let batch = i64::from(r.batch);
        let (ended, idle) = (r.sessions_ended_before, r.sessions_idle_before);
        Ok(Pruned {
            sessions: self
                .execute(stmt!(PRUNE_SESSIONS, batch, ended, idle))
                .await?,
            revocations: self
                .execute(stmt!(PRUNE_REVOCATIONS, batch, r.revocations_before))
                .await?,
            login_failures: self
                .execute(stmt!(PRUNE_LOGIN_FAILURES, batch, r.failures_before))
                .await?,
            events: self
                .execute(stmt!(PRUNE_EVENTS, batch, r.events_before))
                .await?,
            challenges: self.execute(stmt!(PRUNE_CHALLENGES, batch, r.now)).await?,
            mail: self
                .execute(stmt!(PRUNE_LINKS, batch, r.mail_before))
                .await?
                + self
                    .execute(stmt!(
                        PRUNE_OUTBOX,
                        batch,
                        r.mail_before,
                        r.failed_mail_before
                    ))
                    .await?,
        })
    }
}
