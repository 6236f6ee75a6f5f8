//! SQLite access (server only): the pool, migrations, and one module of queries per table.
//! Row types (`*Row`) live here and never leave the server; DTOs for the browser are in `api`.

pub mod events;
pub mod refresh_tokens;
pub mod throttle;
pub mod users;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::{str::FromStr, time::Duration};

/// Opens (creating if asked by the URL's `mode=rwc`) the database and applies every migration in
/// `migrations/`, which are embedded in the binary at build time.
///
/// WAL lets page loads read while a refresh writes; the busy timeout makes concurrent writers
/// queue instead of failing with `SQLITE_BUSY`; `synchronous = FULL` makes every committed
/// transaction durable across a crash or power loss.
pub async fn connect(database_url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(database_url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
    let pool = SqlitePoolOptions::new()
        // An in-memory database lives in one connection; files get a small pool.
        .max_connections(if in_memory { 1 } else { 8 })
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Whether `err` is a UNIQUE-constraint violation (e.g. a duplicate username), so callers can
/// answer with a clear message instead of matching error strings.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
