//! Queries on `refresh_tokens`. Rows are found by the SHA-256 of the token; the token itself is
//! never stored.

/// A refresh-token row joined with its user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    /// Primary key.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Owner's name.
    pub username: String,
    /// Owner's role.
    pub role: String,
    /// Shared by every rotation of one login.
    pub family_id: String,
    /// When this token was last presented (or issued).
    pub last_used_at: i64,
    /// Absolute end of the session.
    pub expires_at: i64,
    /// When it was exchanged for a child token.
    pub rotated_at: Option<i64>,
    /// When the family was revoked.
    pub revoked_at: Option<i64>,
}

/// A token to insert.
#[derive(Debug, Clone)]
pub struct NewRefreshToken<'a> {
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// Owner.
    pub user_id: i64,
    /// Family (new for a login, inherited on rotation).
    pub family_id: &'a str,
    /// The token this one replaces.
    pub parent_id: Option<i64>,
    /// Issue time.
    pub now: i64,
    /// Absolute expiry, inherited on rotation.
    pub expires_at: i64,
}

/// Finds a token by its hash.
pub async fn find_by_hash<'e, E>(
    executor: E,
    token_hash: &[u8],
) -> sqlx::Result<Option<RefreshTokenRow>>
where
    E: sqlx::SqliteExecutor<'e>,
{
    sqlx::query_as(
        "SELECT t.id, t.user_id, u.username, u.role, t.family_id, t.last_used_at, t.expires_at,
                t.rotated_at, t.revoked_at
         FROM refresh_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?",
    )
    .bind(token_hash)
    .fetch_optional(executor)
    .await
}

/// Inserts a token and returns its id.
pub async fn insert<'e, E>(executor: E, token: &NewRefreshToken<'_>) -> sqlx::Result<i64>
where
    E: sqlx::SqliteExecutor<'e>,
{
    let result = sqlx::query(
        "INSERT INTO refresh_tokens
             (token_hash, user_id, family_id, parent_id, created_at, last_used_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(token.token_hash)
    .bind(token.user_id)
    .bind(token.family_id)
    .bind(token.parent_id)
    .bind(token.now)
    .bind(token.now)
    .bind(token.expires_at)
    .execute(executor)
    .await?;
    Ok(result.last_insert_rowid())
}

/// Marks a token as exchanged. Returns whether this call did it (it was not rotated before).
pub async fn mark_rotated<'e, E>(executor: E, id: i64, now: i64) -> sqlx::Result<bool>
where
    E: sqlx::SqliteExecutor<'e>,
{
    let result = sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = ?1, last_used_at = ?1 WHERE id = ?2 AND rotated_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(executor)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Revokes every live token of a family. Returns how many rows changed.
pub async fn revoke_family<'e, E>(
    executor: E,
    family_id: &str,
    reason: &str,
    now: i64,
) -> sqlx::Result<u64>
where
    E: sqlx::SqliteExecutor<'e>,
{
    let result = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = ?, revoked_reason = ?
         WHERE family_id = ? AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(family_id)
    .execute(executor)
    .await?;
    Ok(result.rows_affected())
}
