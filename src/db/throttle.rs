//! Per-username login throttling in `login_failures`.
//!
//! Each attempt is counted *before* the password is checked, in one atomic UPSERT, so a burst of
//! parallel guesses cannot all slip past the limit. A correct password deletes the row. The window
//! is fixed from the first failure: once it has passed the count starts again, so nobody can lock
//! an account out for good.

use sqlx::SqlitePool;

/// Counts a login attempt for `username` and returns `Some(seconds)` to wait when it is over the
/// limit, or `None` when the password may be checked.
pub async fn count_attempt(
    pool: &SqlitePool,
    username: &str,
    max_failures: u32,
    window_secs: i64,
    now: i64,
) -> sqlx::Result<Option<u64>> {
    let (failures, window_start): (i64, i64) = sqlx::query_as(
        "INSERT INTO login_failures (username, failures, window_start) VALUES (?1, 1, ?2)
         ON CONFLICT (username) DO UPDATE SET
             failures     = CASE WHEN ?2 - window_start >= ?3 THEN 1  ELSE failures + 1 END,
             window_start = CASE WHEN ?2 - window_start >= ?3 THEN ?2 ELSE window_start END
         RETURNING failures, window_start",
    )
    .bind(username)
    .bind(now)
    .bind(window_secs)
    .fetch_one(pool)
    .await?;
    if failures > i64::from(max_failures) {
        let wait = (window_start + window_secs - now).max(1);
        Ok(Some(u64::try_from(wait).unwrap_or(1)))
    } else {
        Ok(None)
    }
}

/// Forgets the failures of `username` after a successful login.
pub async fn reset(pool: &SqlitePool, username: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE username = ?")
        .bind(username)
        .execute(pool)
        .await?;
    Ok(())
}

/// Drops rows whose window has passed, so guessing many names cannot grow the table forever.
pub async fn prune(pool: &SqlitePool, window_secs: i64, now: i64) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM login_failures WHERE window_start <= ?")
        .bind(now - window_secs)
        .execute(pool)
        .await?;
    Ok(result.rows_affected())
}
