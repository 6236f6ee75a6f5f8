//! What SQLite does its own way with sessions: group commit for refresh-token rotations, the
//! write every active client makes every few minutes and the one a busy server makes thousands
//! of times a second.
//!
//! With `synchronous = FULL` each SQLite commit waits for one fsync, so one rotation per
//! transaction caps refreshes at the disk's fsync rate (about 1,400/s here), and each of its
//! statements is a round trip to the connection's worker thread. Here one task owns the writes
//! of rotations: it takes every rotation waiting in its queue (up to [`MAX_BATCH`]), sends all
//! their statements to SQLite in one call, and commits them together with one fsync; only
//! then is each request answered. So nothing is answered before it is on disk (a refresh
//! answered 200 survives `kill -9` and a power loss alike), and a batch of 32 costs about
//! what one rotation did. What PostgreSQL's `commit_delay` does, without the delay: the batch
//! is whatever arrived while the previous one was committing.
//!
//! Should a batch fail (it cannot, short of a broken disk), it is rolled back and each of its
//! rotations is tried alone, so one bad rotation fails alone.

use crate::db::{DbError, NewEvent, Rotation, UsernameKey};
use crate::model::EventKind;
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// The most rotations one transaction commits.
pub const MAX_BATCH: usize = 64;
/// Rotations waiting beyond this make their requests wait to enqueue (memory stays bounded).
const QUEUE: usize = 1024;

/// The statements of rotation number `i` of a batch: claim the live parent, and only if that
/// changed a row (`changes() = 1`) insert the child, touch the session and record the audit
/// event, which returns `i`. A rotation whose parent another request had rotated or revoked
/// first changes nothing and returns nothing. Parameters are plain `?`, bound in the order
/// they appear (see `bind_rotation`): numbered ones would leave gaps that sqlx's binding of
/// a multi-statement query does not support.
fn rotation_sql(i: usize) -> String {
    format!(
        "UPDATE refresh_tokens SET rotated_at = ?
          WHERE id = ? AND rotated_at IS NULL
            AND session_id IN (SELECT id FROM sessions WHERE id = ? AND revoked_at IS NULL);
         INSERT INTO refresh_tokens (token_hash, session_id, parent_id, created_at)
          SELECT ?, ?, ?, ? WHERE changes() = 1;
         UPDATE sessions SET last_used_at = ?, last_ip = ? WHERE id = ? AND changes() = 1;
         INSERT INTO auth_events (at, kind, username, username_key, family_id, ip, user_agent,
                                  actor)
          SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE changes() = 1
          RETURNING {i};"
    )
}

/// A rotation waiting for its batch, with everything owned (it crosses tasks).
struct Job {
    now: i64,
    parent_id: i64,
    session_id: String,
    child_hash: [u8; 32],
    ip: Option<String>,
    kind: EventKind,
    username: String,
    username_key: UsernameKey,
    family_id: Option<String>,
    user_agent: Option<String>,
    actor: Option<String>,
    reply: oneshot::Sender<Result<bool, DbError>>,
}

/// The queue of rotations; the task that commits them runs as long as a handle exists.
#[derive(Debug, Clone)]
pub struct Rotations {
    queue: mpsc::Sender<Job>,
}

impl Rotations {
    /// Starts the committing task on the writer pool (must be called inside the runtime).
    pub fn start(writer: SqlitePool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(writer, jobs));
        Self { queue }
    }

    /// Rotates, durably; `false` when the parent was no longer live.
    pub async fn rotate(
        &self,
        rotation: Rotation<'_>,
        event: NewEvent<'_>,
    ) -> Result<bool, DbError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            now: rotation.now,
            parent_id: rotation.parent_id,
            session_id: rotation.session_id.to_owned(),
            child_hash: *rotation.child_hash,
            ip: rotation.client.ip_text(),
            kind: event.kind,
            username: event.username.to_owned(),
            username_key: UsernameKey::of(event.username),
            family_id: event.session.map(str::to_owned),
            user_agent: event.user_agent().map(str::to_owned),
            actor: event.actor().map(str::to_owned),
            reply,
        };
        self.queue.send(job).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }
}

async fn run(writer: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let results = commit(&writer, &batch).await;
        for (job, result) in batch.drain(..).zip(results) {
            // The request may have gone (client disconnected); its rotation stands.
            let _ = job.reply.send(result);
        }
    }
}

/// Applies and commits `batch`: one result per job. All rotations go to SQLite in one call
/// (one round trip to the connection's thread, not one per rotation); should that call fail,
/// the batch is rolled back and each rotation tried alone, so one bad rotation fails alone.
async fn commit(writer: &SqlitePool, batch: &[Job]) -> Vec<Result<bool, DbError>> {
    match commit_together(writer, batch).await {
        Ok(claimed) => claimed.into_iter().map(Ok).collect(),
        Err(_) if batch.len() > 1 => {
            let mut results = Vec::with_capacity(batch.len());
            for job in batch {
                results.push(
                    commit_together(writer, std::slice::from_ref(job))
                        .await
                        .map(|claimed| claimed[0]),
                );
            }
            results
        }
        Err(e) => vec![Err(e)],
    }
}

async fn commit_together(writer: &SqlitePool, batch: &[Job]) -> Result<Vec<bool>, DbError> {
    // Built from batch positions only, never from input: every value is a bound parameter.
    let sql: String = (0..batch.len()).map(rotation_sql).collect();
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for job in batch {
        let ip = job.ip.as_deref();
        query = query
            // claim the parent
            .bind(job.now)
            .bind(job.parent_id)
            .bind(&job.session_id)
            // insert the child
            .bind(&job.child_hash[..])
            .bind(&job.session_id)
            .bind(job.parent_id)
            .bind(job.now)
            // touch the session
            .bind(job.now)
            .bind(ip)
            .bind(&job.session_id)
            // the audit event
            .bind(job.now)
            .bind(job.kind)
            .bind(&job.username)
            .bind(job.username_key.as_str())
            .bind(job.family_id.as_deref())
            .bind(ip)
            .bind(job.user_agent.as_deref())
            .bind(job.actor.as_deref());
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let rotated = query.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut claimed = vec![false; batch.len()];
    for i in rotated {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| claimed.get_mut(i)) {
            *slot = true;
        }
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;

    fn job(parent_id: i64, session: &str, child: u8) -> Job {
        Job {
            now: 1_000,
            parent_id,
            session_id: session.to_owned(),
            child_hash: [child; 32],
            ip: Some("127.0.0.1".into()),
            kind: EventKind::Refresh,
            username: "user".into(),
            username_key: UsernameKey::of("user"),
            family_id: Some(session.to_owned()),
            user_agent: None,
            actor: None,
            reply: oneshot::channel().0,
        }
    }

    #[tokio::test]
    async fn a_batch_rotates_each_live_parent_once_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let pool = SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).unwrap())
            .await
            .unwrap();
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO users (id, username, username_key, password_hash, role, created_at)
             VALUES (1, 'user', 'user', 'x', 'user', 0);
             INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, revoked_at)
             VALUES ('a', 1, 0, 9999, 0, NULL), ('b', 1, 0, 9999, 0, NULL),
                    ('c', 1, 0, 9999, 0, NULL), ('gone', 1, 0, 9999, 0, 5);
             INSERT INTO refresh_tokens (id, token_hash, session_id, created_at)
             VALUES (1, x'01', 'a', 0), (2, x'02', 'b', 0), (3, x'03', 'c', 0),
                    (4, x'04', 'gone', 0);",
        )
        .execute(&pool)
        .await
        .unwrap();

        let batch = [
            job(1, "a", 0xa1),
            job(2, "b", 0xb1),
            // The same parent again: the first claim wins, this one changes nothing.
            job(1, "a", 0xa1),
            // A revoked session's token is not rotated.
            job(4, "gone", 0xd1),
            job(3, "c", 0xc1),
        ];
        let results: Vec<bool> = commit(&pool, &batch)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();

        assert_eq!(results, [true, true, false, false, true]);
        let children: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens WHERE parent_id IS NOT NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_events")
            .fetch_one(&pool)
            .await
            .unwrap();
        let touched: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE last_used_at = 1000")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((children, events, touched), (3, 3, 3));
    }
}
