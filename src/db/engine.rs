//! The seam between the storage steps, written once, and the two database engines.
//!
//! Every statement both engines accept is a [`Statement`]: SQL text with `$1`-style
//! parameters (PostgreSQL's syntax, which SQLite reads as numbered parameters too) and its
//! arguments as [`Value`]s. The concern modules (`users`, `sessions`, …) build statements and run
//! them through [`SqlTx`] or the read helpers here, so the SQL and the control flow of each step
//! exist once. What really differs per engine is behind [`Engine`]: how a write transaction
//! starts (SQLite takes its one write lock at once, `BEGIN IMMEDIATE`), whether rows can be
//! locked (`FOR UPDATE`), how refresh rotations are committed (SQLite group-commits them), and
//! whether revocations can be pushed (PostgreSQL `LISTEN/NOTIFY`).

use super::{DbError, RevocationFeed, Rotation};
use crate::model::{Amr, EventKind, RevokeReason, Role};
use sqlx::{postgres::PgRow, sqlite::SqliteRow, FromRow, Pool, Postgres, Sqlite};
use std::{borrow::Cow, future::Future};

/// One argument of a statement. Its `Debug` is deliberately absent: arguments carry password
/// hashes, token hashes and sealed secrets.
pub enum Value<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
    Bytes(&'a [u8]),
    Bool(bool),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::Text(v.map(Cow::Borrowed))
    }
}

impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Self::Text(Some(Cow::Owned(v)))
    }
}

impl From<Option<String>> for Value<'_> {
    fn from(v: Option<String>) -> Self {
        Self::Text(v.map(Cow::Owned))
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Bytes(v)
    }
}

impl<'a> From<&'a [u8; 32]> for Value<'a> {
    fn from(v: &'a [u8; 32]) -> Self {
        Self::Bytes(v)
    }
}

/// Enumerations are stored by their wire names.
macro_rules! stored_by_name {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Value<'_> {
            fn from(v: $ty) -> Self {
                Self::Text(Some(Cow::Borrowed(v.as_str())))
            }
        }
    )*};
}
stored_by_name!(Role, EventKind, RevokeReason, Amr, super::ThrottleScope);

/// SQL that both engines accept, with its arguments in parameter order (`$1`, `$2`, …).
pub struct Statement<'a> {
    sql: &'static str,
    args: Vec<Value<'a>>,
}

impl<'a> Statement<'a> {
    pub fn new(sql: &'static str, args: Vec<Value<'a>>) -> Self {
        Self { sql, args }
    }
}

/// `stmt!(SQL, a, b, …)`: a [`Statement`] whose arguments are converted with `Value::from`.
macro_rules! stmt {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::engine::Statement::new($sql, vec![$($crate::db::engine::Value::from($arg)),*])
    };
}
pub(crate) use stmt;

/// A row type both engines can decode.
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// Runs statements on one connection of a driver: the only place that binds [`Value`]s.
#[async_trait::async_trait]
pub trait Driver: sqlx::Database {
    async fn fetch_all<T: Record>(
        conn: &mut Self::Connection,
        statement: Statement<'_>,
    ) -> Result<Vec<T>, sqlx::Error>;

    async fn fetch_optional<T: Record>(
        conn: &mut Self::Connection,
        statement: Statement<'_>,
    ) -> Result<Option<T>, sqlx::Error>;

    /// Returns the number of rows changed.
    async fn execute(
        conn: &mut Self::Connection,
        statement: Statement<'_>,
    ) -> Result<u64, sqlx::Error>;
}

/// The `Driver` of one sqlx database: the same text for both, so it is written once.
macro_rules! driver {
    ($db:ty, $args:ty) => {
        #[async_trait::async_trait]
        impl Driver for $db {
            async fn fetch_all<T: Record>(
                conn: &mut Self::Connection,
                statement: Statement<'_>,
            ) -> Result<Vec<T>, sqlx::Error> {
                let args = arguments::<$db, $args>(statement.args)?;
                sqlx::query_as_with::<$db, T, _>(statement.sql, args)
                    .fetch_all(&mut *conn)
                    .await
            }

            async fn fetch_optional<T: Record>(
                conn: &mut Self::Connection,
                statement: Statement<'_>,
            ) -> Result<Option<T>, sqlx::Error> {
                let args = arguments::<$db, $args>(statement.args)?;
                sqlx::query_as_with::<$db, T, _>(statement.sql, args)
                    .fetch_optional(&mut *conn)
                    .await
            }

            async fn execute(
                conn: &mut Self::Connection,
                statement: Statement<'_>,
            ) -> Result<u64, sqlx::Error> {
                let args = arguments::<$db, $args>(statement.args)?;
                let done = sqlx::query_with::<$db, _>(statement.sql, args)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

/// Encodes `values` for a driver whose `Arguments` accept every kind of [`Value`].
fn arguments<DB, A>(values: Vec<Value<'_>>) -> Result<A, sqlx::Error>
where
    DB: sqlx::Database,
    A: sqlx::Arguments<Database = DB>,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<&'t str>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> &'t [u8]: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    bool: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut args = A::default();
    for value in values {
        match value {
            Value::Int(v) => args.add(v),
            Value::Text(v) => args.add(v.as_deref()),
            Value::Bytes(v) => args.add(v),
            Value::Bool(v) => args.add(v),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

driver!(Sqlite, sqlx::sqlite::SqliteArguments);
driver!(Postgres, sqlx::postgres::PgArguments);

/// A write transaction: rolled back when dropped, unless committed.
pub struct SqlTx<DB: sqlx::Database>(pub(crate) sqlx::Transaction<'static, DB>);

impl<DB: Driver> SqlTx<DB> {
    pub async fn fetch_all<T: Record>(&mut self, st: Statement<'_>) -> Result<Vec<T>, DbError> {
        Ok(DB::fetch_all(&mut self.0, st).await?)
    }

    pub async fn fetch_optional<T: Record>(
        &mut self,
        st: Statement<'_>,
    ) -> Result<Option<T>, DbError> {
        Ok(DB::fetch_optional(&mut self.0, st).await?)
    }

    /// The first column of the one row the statement returns.
    pub async fn scalar<T>(&mut self, st: Statement<'_>) -> Result<T, DbError>
    where
        (T,): Record,
    {
        let row: Option<(T,)> = DB::fetch_optional(&mut self.0, st).await?;
        row.map(|(v,)| v)
            .ok_or(DbError::Backend(sqlx::Error::RowNotFound))
    }

    /// Returns the number of rows changed.
    pub async fn execute(&mut self, st: Statement<'_>) -> Result<u64, DbError> {
        Ok(DB::execute(&mut self.0, st).await?)
    }

    pub async fn commit(self) -> Result<(), DbError> {
        Ok(self.0.commit().await?)
    }
}

/// Reads on a pool (a connection of it, for one statement).
pub async fn fetch_all<DB: Driver, T: Record>(
    pool: &Pool<DB>,
    st: Statement<'_>,
) -> Result<Vec<T>, DbError> {
    let mut conn = pool.acquire().await?;
    Ok(DB::fetch_all(&mut conn, st).await?)
}

pub async fn fetch_optional<DB: Driver, T: Record>(
    pool: &Pool<DB>,
    st: Statement<'_>,
) -> Result<Option<T>, DbError> {
    let mut conn = pool.acquire().await?;
    Ok(DB::fetch_optional(&mut conn, st).await?)
}

/// One statement in a transaction of its own, on the write path.
pub async fn execute<DB: Driver>(pool: &Pool<DB>, st: Statement<'_>) -> Result<u64, DbError> {
    let mut conn = pool.acquire().await?;
    Ok(DB::execute(&mut conn, st).await?)
}

/// What an engine does its own way.
#[async_trait::async_trait]
pub trait Engine: Send + Sync + 'static {
    type Db: Driver;

    /// Whether `SELECT … FOR UPDATE` exists. Without it (SQLite), a write transaction already
    /// holds the database's one write lock from its first statement.
    const ROW_LOCKS: bool;

    /// Where reads go.
    fn reader(&self) -> &Pool<Self::Db>;

    /// Where single-statement writes go.
    fn writer(&self) -> &Pool<Self::Db>;

    /// Starts a write transaction.
    async fn begin(&self) -> Result<SqlTx<Self::Db>, DbError>;

    /// Rotates a refresh token (see `SessionStore::rotate_refresh_token`).
    async fn rotate(&self, rotation: Rotation<'_>) -> Result<bool, DbError>;

    /// Revocations as other instances make them, if this engine can push them.
    async fn revocation_feed(&self) -> Result<Option<Box<dyn RevocationFeed>>, DbError>;
}

/// The storage: the steps of every concern (`impl … for Backend<E>` in each concern module),
/// over an engine.
pub struct Backend<E> {
    pub(crate) engine: E,
}

impl<E: Engine> Backend<E> {
    pub(crate) fn new(engine: E) -> Self {
        Self { engine }
    }

    pub(crate) async fn begin(&self) -> Result<SqlTx<E::Db>, DbError> {
        self.engine.begin().await
    }

    pub(crate) async fn fetch_all<T: Record>(&self, st: Statement<'_>) -> Result<Vec<T>, DbError> {
        fetch_all(self.engine.reader(), st).await
    }

    pub(crate) async fn fetch_optional<T: Record>(
        &self,
        st: Statement<'_>,
    ) -> Result<Option<T>, DbError> {
        fetch_optional(self.engine.reader(), st).await
    }

    /// A lone statement on the write path (autocommit).
    pub(crate) async fn execute(&self, st: Statement<'_>) -> Result<u64, DbError> {
        execute(self.engine.writer(), st).await
    }

    /// `sql` or, where rows can be locked, `locking` (the same query `… FOR UPDATE`).
    pub(crate) fn locking(sql: &'static str, locking: &'static str) -> &'static str {
        if E::ROW_LOCKS {
            locking
        } else {
            sql
        }
    }
}

impl<E> std::fmt::Debug for Backend<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("engine", &std::any::type_name::<E>())
            .finish()
    }
}

/// Runs `step` again when PostgreSQL reports a serialization failure (40001) or a deadlock
/// (40P01): the transaction was rolled back and may simply be repeated. Bounded. (SQLite never
/// reports either: its writers take turns.)
pub async fn retry<T, F, Fut>(mut step: F) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    const ATTEMPTS: usize = 5;
    let mut attempt = 1;
    loop {
        match step().await {
            Err(e) if attempt < ATTEMPTS && e.is_retryable() => {
                attempt += 1;
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}
