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

use crate::db::{DbError, Rotation};
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// The most rotations one transaction commits.
pub const MAX_BATCH: usize = 64;
/// Rotations waiting beyond this make their requests wait to enqueue (memory stays bounded).
const QUEUE: usize = 1024;

/// Rotation number `i` of a batch: the rotation `UPDATE` of `db::sessions` (the same columns
/// and condition), returning `i` when it changed the row. A rotation whose token another
/// request had rotated, or whose session was revoked, first changes nothing and returns
/// nothing. Parameters are plain `?`, bound in the order they appear: numbered ones would leave
/// gaps that sqlx's binding of a multi-statement query does not support.
fn rotation_sql(i: usize) -> String {
    format!(
        "UPDATE sessions
          SET parent_hash = token_hash, token_hash = ?, rotated_at = ?, rotated_by = ?,
              last_used_at = ?, last_ip = ?, refresh_count = refresh_count + 1, legacy = FALSE
          WHERE id = ? AND token_hash = ? AND revoked_at IS NULL
          RETURNING {i};"
    )
}

/// A rotation waiting for its batch, with everything owned (it crosses tasks).
struct Job {
    now: i64,
    session_id: String,
    parent_hash: [u8; 32],
    child_hash: [u8; 32],
    client_digest: [u8; 32],
    ip: Option<String>,
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

    /// Rotates, durably; `false` when the token was no longer live.
    pub async fn rotate(&self, rotation: Rotation<'_>) -> Result<bool, DbError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            now: rotation.now,
            session_id: rotation.session_id.to_owned(),
            parent_hash: *rotation.parent_hash,
            child_hash: *rotation.child_hash,
            client_digest: *rotation.client_digest,
            ip: rotation.client.ip_text(),
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
        query = query
            .bind(&job.child_hash[..])
            .bind(job.now)
            .bind(&job.client_digest[..])
            .bind(job.now)
            .bind(job.ip.as_deref())
            .bind(&job.session_id)
            .bind(&job.parent_hash[..]);
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

    fn job(session: &str, parent: u8, child: u8) -> Job {
        Job {
            now: 1_000,
            session_id: session.to_owned(),
            parent_hash: [parent; 32],
            child_hash: [child; 32],
            client_digest: [7; 32],
            ip: Some("127.0.0.1".into()),
            reply: oneshot::channel().0,
        }
    }

    #[tokio::test]
    async fn a_batch_rotates_each_live_token_once_and_adds_no_row() {
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
             INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, revoked_at,
                                   token_hash, auth_time)
             VALUES ('a', 1, 0, 9999, 0, NULL, x'0101010101010101010101010101010101010101010101010101010101010101', 0),
                    ('b', 1, 0, 9999, 0, NULL, x'0202020202020202020202020202020202020202020202020202020202020202', 0),
                    ('gone', 1, 0, 9999, 0, 5, x'0404040404040404040404040404040404040404040404040404040404040404', 0);",
        )
        .execute(&pool)
        .await
        .unwrap();

        let batch = [
            job("a", 1, 0xa1),
            job("b", 2, 0xb1),
            // The same token again: the first rotation wins, this one changes nothing.
            job("a", 1, 0xa1),
            // A revoked session's token is not rotated.
            job("gone", 4, 0xd1),
            // Nor a token that is not the live one.
            job("b", 9, 0xb2),
        ];
        let results: Vec<bool> = commit(&pool, &batch)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();

        assert_eq!(results, [true, true, false, false, false]);
        /// (id, live hash, parent hash, refresh count)
        type Chain = (String, Vec<u8>, Option<Vec<u8>>, i64);
        let rows: Vec<Chain> = sqlx::query_as(
            "SELECT id, token_hash, parent_hash, refresh_count FROM sessions ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows[0], ("a".into(), vec![0xa1; 32], Some(vec![1; 32]), 1));
        assert_eq!(rows[1], ("b".into(), vec![0xb1; 32], Some(vec![2; 32]), 1));
        assert_eq!(rows[2].3, 0, "the revoked session is untouched");
    }
}
