//! The mail outbox: a mail is a row, written in the transaction of the change it tells about,
//! and delivered later by a worker. Workers claim rows atomically (a lease: `sending` until
//! `claimed_until`), so several instances never send one mail twice, and a worker that dies
//! mid-send leaves its rows to be claimed again once the lease ends.
//!
//! What a mail says is stored sealed (`sealed`, encrypted by `auth`), since it carries a link's
//! token; it is dropped once the mail is sent.

use super::audit::{record, NewEvent};
use super::engine::{stmt, Backend, Driver, Engine, SqlTx};
use super::DbError;
use crate::model::MailKind;

/// A mail to queue.
#[derive(Clone, Copy)]
pub struct NewMail<'a> {
    pub kind: MailKind,
    pub recipient: &'a str,
    /// What the mail says, sealed.
    pub sealed: &'a [u8],
    pub at: i64,
}

impl std::fmt::Debug for NewMail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMail")
            .field("kind", &self.kind)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// A mail a worker has claimed.
#[derive(Clone, sqlx::FromRow)]
pub struct ClaimedMail {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub sealed: Option<Vec<u8>>,
    /// Including this one.
    pub attempts: i64,
}

impl std::fmt::Debug for ClaimedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A mail that could not be delivered, as admins see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedMail {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// How many mails are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
}

/// The outbox.
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues a mail on its own (a notice after its change), with `event`.
    async fn queue_mail(&self, mail: NewMail<'_>, event: NewEvent<'_>) -> Result<(), DbError>;

    /// Claims up to `limit` mails that are due at `now` (or whose lease ran out), leased
    /// until `lease_until`.
    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, DbError>;

    /// A claimed mail was accepted by the mail server: its content is dropped.
    async fn mail_sent(&self, id: i64, now: i64) -> Result<(), DbError>;

    /// A claimed mail could not be delivered: tried again at `retry_at`, or (`None`) marked
    /// failed for good.
    async fn mail_failed(&self, id: i64, error: &str, retry_at: Option<i64>)
        -> Result<(), DbError>;

    /// The newest mails that failed for good.
    async fn failed_mail(&self, limit: u32) -> Result<Vec<FailedMail>, DbError>;

    /// Puts a failed mail back in the queue, due at `now`. Returns whether there was one.
    async fn retry_mail(&self, id: i64, now: i64) -> Result<bool, DbError>;

    async fn outbox_counts(&self) -> Result<OutboxCounts, DbError>;
}

const PUSH: &str = "INSERT INTO mail_outbox (kind, recipient, sealed, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $4)";

const ANY_DUE: &str = "SELECT id FROM mail_outbox
     WHERE (state = 'pending' AND next_attempt_at <= $1)
        OR (state = 'sending' AND claimed_until <= $1)
     LIMIT 1";

const CLAIM: &str = "UPDATE mail_outbox
     SET state = 'sending', claimed_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM mail_outbox
                  WHERE (state = 'pending' AND next_attempt_at <= $1)
                     OR (state = 'sending' AND claimed_until <= $1)
                  ORDER BY id LIMIT $3)
     RETURNING id, kind, recipient, sealed, attempts";

/// PostgreSQL: rows another instance is claiming right now are skipped, not waited for.
const CLAIM_SKIP_LOCKED: &str = "UPDATE mail_outbox
     SET state = 'sending', claimed_until = $2, attempts = attempts + 1
     WHERE id IN (SELECT id FROM mail_outbox
                  WHERE (state = 'pending' AND next_attempt_at <= $1)
                     OR (state = 'sending' AND claimed_until <= $1)
                  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, recipient, sealed, attempts";

const SENT: &str = "UPDATE mail_outbox
     SET state = 'sent', sealed = NULL, sent_at = $2, claimed_until = NULL, last_error = NULL
     WHERE id = $1";

const RETRY_LATER: &str = "UPDATE mail_outbox
     SET state = 'pending', next_attempt_at = $3, claimed_until = NULL, last_error = $2
     WHERE id = $1";

const FAILED: &str = "UPDATE mail_outbox
     SET state = 'failed', claimed_until = NULL, last_error = $2
     WHERE id = $1";

const LIST_FAILED: &str = "SELECT id, kind, recipient, attempts, last_error, created_at
     FROM mail_outbox WHERE state = 'failed' ORDER BY id DESC LIMIT $1";

const RETRY: &str = "UPDATE mail_outbox
     SET state = 'pending', next_attempt_at = $2, attempts = 0, last_error = NULL
     WHERE id = $1 AND state = 'failed' AND sealed IS NOT NULL";

const COUNTS: &str = "SELECT state, COUNT(*) FROM mail_outbox GROUP BY state";

/// Queues a mail inside a step's transaction.
pub(crate) async fn push<DB: Driver>(
    tx: &mut SqlTx<DB>,
    mail: &NewMail<'_>,
) -> Result<(), DbError> {
    tx.execute(stmt!(
        PUSH,
        mail.kind.as_str(),
        mail.recipient,
        mail.sealed,
        mail.at
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl<E: Engine> OutboxStore for Backend<E> {
    async fn queue_mail(&self, mail: NewMail<'_>, event: NewEvent<'_>) -> Result<(), DbError> {
        let mut tx = self.begin().await?;
        push(&mut tx, &mail).await?;
        record(&mut tx, &event).await?;
        tx.commit().await
    }

    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, DbError> {
        let sql = Self::locking(CLAIM, CLAIM_SKIP_LOCKED);
        // Most polls find nothing: a read says so without taking the write lock.
        let due: Option<(i64,)> = self.fetch_optional(stmt!(ANY_DUE, now)).await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let claimed = tx
            .fetch_all(stmt!(sql, now, lease_until, i64::from(limit)))
            .await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn mail_sent(&self, id: i64, now: i64) -> Result<(), DbError> {
        self.execute(stmt!(SENT, id, now)).await?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), DbError> {
        let st = match retry_at {
            Some(at) => stmt!(RETRY_LATER, id, error, at),
            None => stmt!(FAILED, id, error),
        };
        self.execute(st).await?;
        Ok(())
    }

    async fn failed_mail(&self, limit: u32) -> Result<Vec<FailedMail>, DbError> {
        self.fetch_all(stmt!(LIST_FAILED, i64::from(limit))).await
    }

    async fn retry_mail(&self, id: i64, now: i64) -> Result<bool, DbError> {
        Ok(self.execute(stmt!(RETRY, id, now)).await? > 0)
    }

    async fn outbox_counts(&self) -> Result<OutboxCounts, DbError> {
        let rows: Vec<(String, i64)> = self.fetch_all(stmt!(COUNTS)).await?;
        let mut counts = OutboxCounts::default();
        for (state, n) in rows {
            match state.as_str() {
                "pending" => counts.pending = n,
                "sending" => counts.sending = n,
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}
