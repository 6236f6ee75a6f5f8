//! Queries on `users`.

use sqlx::SqlitePool;

/// A row of `users`. Holds the password hash, so it is never serialised or sent anywhere.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Primary key; the access token's `sub`.
    pub id: i64,
    /// Unique, case-insensitive.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// `user` or `admin`.
    pub role: String,
}

/// Looks a user up by name (case-insensitive).
pub async fn find_by_username(pool: &SqlitePool, username: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as("SELECT id, username, password_hash, role FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(pool)
        .await
}

/// Inserts a user; fails with a unique violation when the name is taken.
pub async fn insert(
    pool: &SqlitePool,
    username: &str,
    password_hash: &str,
    role: &str,
    now: i64,
) -> sqlx::Result<i64> {
    let result = sqlx::query(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(result.last_insert_rowid())
}

/// Whether a user of this name exists.
pub async fn exists(pool: &SqlitePool, username: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}
