//! Sessions: families of rotating refresh tokens in SQLite.
//!
//! A login starts a family with one token. Every refresh marks the presented token as rotated and
//! issues a child with the same absolute expiry (rotation never extends a session). Presenting a
//! rotated token again is either a harmless race (two tabs, a retried request: within the reuse
//! grace window, answered with a sibling token) or theft (after the window: the whole family is
//! revoked, so the thief's and the victim's tokens both stop working).
//!
//! Each refresh runs in one `BEGIN IMMEDIATE` transaction: concurrent refreshes of the same token
//! queue on SQLite's write lock (WAL + busy timeout) and each sees the previous one's result, so
//! none of them can corrupt a row or fail with a 5xx.

use crate::auth::refresh_token;
use crate::db::{
    events::{self, ClientInfo, Event, EventKind},
    refresh_tokens::{self, NewRefreshToken, RefreshTokenRow},
};
use sqlx::SqlitePool;

/// Session lifetimes, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Absolute lifetime of a family.
    pub absolute_ttl_secs: i64,
    /// A token unused this long is dead.
    pub idle_ttl_secs: i64,
    /// Reuse of a rotated token within this many seconds is a concurrent refresh, not theft.
    pub reuse_grace_secs: i64,
}

/// A refresh token handed to the client, with what the cookie needs.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token itself (goes only into the cookie).
    pub token: String,
    /// Seconds until the family's absolute expiry: the cookie's Max-Age.
    pub max_age_secs: i64,
    /// The session family, for the audit log.
    pub family_id: String,
}

/// The user a refresh token belongs to.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub username: String,
    /// Role name as stored.
    pub role: String,
}

/// Why a refresh was refused. The client only ever learns `invalid_refresh_token`.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Not a token we issued (or malformed).
    #[error("unknown refresh token")]
    Unknown,
    /// Past its absolute or idle expiry.
    #[error("refresh token expired")]
    Expired,
    /// Its family was revoked (logout or earlier theft).
    #[error("refresh token revoked")]
    Revoked,
    /// A rotated token reused after the grace window; the family has just been revoked.
    #[error("refresh token reused after rotation; family revoked")]
    ReuseDetected,
    /// Database failure.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts a session for a user who just logged in.
pub async fn start(
    pool: &SqlitePool,
    user_id: i64,
    policy: SessionPolicy,
    now: i64,
) -> sqlx::Result<IssuedToken> {
    let token = refresh_token::generate();
    let family_id = refresh_token::new_family_id();
    let expires_at = now.saturating_add(policy.absolute_ttl_secs);
    refresh_tokens::insert(
        pool,
        &NewRefreshToken {
            token_hash: &refresh_token::hash(&token),
            user_id,
            family_id: &family_id,
            parent_id: None,
            now,
            expires_at,
        },
    )
    .await?;
    Ok(IssuedToken {
        token,
        max_age_secs: expires_at - now,
        family_id,
    })
}

fn is_expired(row: &RefreshTokenRow, policy: SessionPolicy, now: i64) -> bool {
    now >= row.expires_at || now >= row.last_used_at.saturating_add(policy.idle_ttl_secs)
}

/// Exchanges a refresh token for a new one (rotation), detecting reuse.
pub async fn rotate(
    pool: &SqlitePool,
    presented: &str,
    policy: SessionPolicy,
    client: &ClientInfo,
    now: i64,
) -> Result<(SessionUser, IssuedToken), RefreshError> {
    if !refresh_token::is_well_formed(presented) {
        return Err(RefreshError::Unknown);
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let row = refresh_tokens::find_by_hash(&mut *tx, &refresh_token::hash(presented))
        .await?
        .ok_or(RefreshError::Unknown)?;
    if row.revoked_at.is_some() {
        return Err(RefreshError::Revoked);
    }
    if is_expired(&row, policy, now) {
        return Err(RefreshError::Expired);
    }
    let user = SessionUser {
        user_id: row.user_id,
        username: row.username.clone(),
        role: row.role.clone(),
    };
    match row.rotated_at {
        Some(rotated_at) if now - rotated_at > policy.reuse_grace_secs => {
            refresh_tokens::revoke_family(&mut *tx, &row.family_id, "reuse_detected", now).await?;
            let event = Event::new(
                EventKind::ReuseDetected,
                &row.username,
                Some(&row.family_id),
            );
            events::record(&mut *tx, event, client, now).await?;
            tx.commit().await?;
            tracing::warn!(
                username = %row.username,
                family = %row.family_id,
                ip = client.ip.as_deref().unwrap_or("-"),
                "refresh token reused after rotation: session family revoked"
            );
            return Err(RefreshError::ReuseDetected);
        }
        // Within the grace window: a concurrent refresh. Answer with a sibling token.
        Some(_) => {}
        None => {
            refresh_tokens::mark_rotated(&mut *tx, row.id, now).await?;
        }
    }
    let token = refresh_token::generate();
    refresh_tokens::insert(
        &mut *tx,
        &NewRefreshToken {
            token_hash: &refresh_token::hash(&token),
            user_id: row.user_id,
            family_id: &row.family_id,
            parent_id: Some(row.id),
            now,
            expires_at: row.expires_at,
        },
    )
    .await?;
    let event = Event::new(EventKind::Refresh, &row.username, Some(&row.family_id));
    events::record(&mut *tx, event, client, now).await?;
    tx.commit().await?;
    Ok((
        user,
        IssuedToken {
            token,
            max_age_secs: row.expires_at - now,
            family_id: row.family_id,
        },
    ))
}

/// Ends the session of a refresh token (its whole family). Returns the username when a live
/// session was ended; unknown or already-ended tokens are not an error (logout is idempotent).
pub async fn end(
    pool: &SqlitePool,
    presented: &str,
    client: &ClientInfo,
    now: i64,
) -> sqlx::Result<Option<String>> {
    if !refresh_token::is_well_formed(presented) {
        return Ok(None);
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let Some(row) = refresh_tokens::find_by_hash(&mut *tx, &refresh_token::hash(presented)).await?
    else {
        return Ok(None);
    };
    let revoked = refresh_tokens::revoke_family(&mut *tx, &row.family_id, "logout", now).await?;
    if revoked == 0 {
        return Ok(None);
    }
    let event = Event::new(EventKind::Logout, &row.username, Some(&row.family_id));
    events::record(&mut *tx, event, client, now).await?;
    tx.commit().await?;
    Ok(Some(row.username))
}

/// Read-only check used by page guards during server rendering: whom does this refresh token
/// log in, if anyone? Never rotates or revokes.
pub async fn peek(
    pool: &SqlitePool,
    presented: &str,
    policy: SessionPolicy,
    now: i64,
) -> sqlx::Result<Option<SessionUser>> {
    if !refresh_token::is_well_formed(presented) {
        return Ok(None);
    }
    let Some(row) = refresh_tokens::find_by_hash(pool, &refresh_token::hash(presented)).await?
    else {
        return Ok(None);
    };
    let reused_too_late = row
        .rotated_at
        .is_some_and(|at| now - at > policy.reuse_grace_secs);
    if row.revoked_at.is_some() || is_expired(&row, policy, now) || reused_too_late {
        return Ok(None);
    }
    Ok(Some(SessionUser {
        user_id: row.user_id,
        username: row.username,
        role: row.role,
    }))
}
