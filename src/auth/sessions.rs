//! Sessions: families of rotating refresh tokens.
//!
//! A login starts a family with one token. Every refresh marks the presented token as rotated and
//! issues a child with the same absolute expiry (rotation never extends a session). Presenting a
//! rotated token again is either a harmless race (two tabs, a retried request: within the reuse
//! grace window, answered with a sibling token) or theft (after the window: the whole family is
//! revoked, so the thief's and the victim's tokens both stop working).
//!
//! Every decision starts from one classification of the stored token ([`TokenState`]), shared
//! by the refresh, the logout and the read-only page check. Writes are conditional steps of the
//! store ("rotate it if nobody else has"): a request that loses a race looks again, so
//! concurrent refreshes of one token never corrupt a row or fail with a 5xx.

use crate::auth::{refresh_token, unix_now, Auth, AuthError, RefreshRefusal, SignedIn};
use crate::db::{ClientInfo, NewEvent, NewRefreshToken, RefreshTokenRow};
use crate::model::{EventKind, RevokeReason, Role};

/// Session lifetimes, in seconds, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Lifetime of a family from its login; rotation never extends it.
    pub absolute_ttl_secs: i64,
    /// A token unused this long is dead.
    pub idle_ttl_secs: i64,
    /// Reuse of a rotated token within this many seconds is a concurrent refresh, not theft.
    pub reuse_grace_secs: i64,
}

/// A refresh token handed to the client, with what its cookie needs.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token itself: it goes into the cookie and nowhere else.
    pub token: String,
    /// Seconds until the family's absolute expiry: the cookie's Max-Age.
    pub max_age_secs: i64,
    pub family_id: String,
}

/// The user a session belongs to, as the database says now.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
}

impl From<&RefreshTokenRow> for SessionUser {
    fn from(row: &RefreshTokenRow) -> Self {
        Self {
            user_id: row.user_id,
            username: row.username.clone(),
            role: row.role,
        }
    }
}

/// What a stored refresh token can still do at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// The newest token of a live session: it may be rotated.
    Live,
    /// Rotated moments ago (within the grace window): a concurrent refresh.
    RotatedWithinGrace,
    /// Rotated longer ago than the grace window: presenting it means theft.
    Reused,
    /// Past its absolute or idle expiry.
    Expired,
    /// Its family was revoked.
    Revoked,
}

impl TokenState {
    /// Classifies `row` at time `now`.
    pub fn of(row: &RefreshTokenRow, policy: SessionPolicy, now: i64) -> Self {
        if row.revoked_at.is_some() {
            Self::Revoked
        } else if now >= row.expires_at
            || now >= row.last_used_at.saturating_add(policy.idle_ttl_secs)
        {
            Self::Expired
        } else {
            match row.rotated_at {
                None => Self::Live,
                Some(at) if now - at > policy.reuse_grace_secs => Self::Reused,
                Some(_) => Self::RotatedWithinGrace,
            }
        }
    }
}

/// A request that loses a race looks again; three looks cover every sequence (live → rotated →
/// revoked).
const MAX_LOOKS: usize = 3;

impl Auth {
    /// Starts a session for a user who just logged in, recording `LoginSuccess`.
    pub(crate) async fn start_session(
        &self,
        user: &SessionUser,
        client: &ClientInfo,
        now: i64,
    ) -> Result<IssuedToken, AuthError> {
        let token = refresh_token::generate();
        let family_id = refresh_token::new_family_id();
        let expires_at = now.saturating_add(self.sessions.absolute_ttl_secs);
        self.db
            .start_session(
                NewRefreshToken {
                    token_hash: &refresh_token::hash(&token),
                    user_id: user.user_id,
                    family_id: &family_id,
                    parent_id: None,
                    now,
                    expires_at,
                },
                NewEvent {
                    kind: EventKind::LoginSuccess,
                    username: &user.username,
                    family_id: Some(&family_id),
                    client,
                    at: now,
                },
            )
            .await?;
        Ok(IssuedToken {
            token,
            max_age_secs: expires_at - now,
            family_id,
        })
    }

    /// Exchanges a refresh token for a new one (rotation) and a new access token, detecting
    /// reuse. `presented` is the cookie's value, if there was one.
    pub async fn refresh(
        &self,
        presented: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let now = unix_now();
        let result = self.rotate(presented, client, now).await;
        if let Err(AuthError::RefreshRefused(reason)) = &result {
            tracing::info!(%reason, "refresh refused");
        }
        let (user, issued) = result?;
        self.sign_in(user, issued, now)
    }

    async fn rotate(
        &self,
        presented: Option<&str>,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(SessionUser, IssuedToken), AuthError> {
        let refused = |reason| Err(AuthError::RefreshRefused(reason));
        let Some(presented) = presented.filter(|t| refresh_token::is_well_formed(t)) else {
            return refused(RefreshRefusal::Unknown);
        };
        let hash = refresh_token::hash(presented);
        for _ in 0..MAX_LOOKS {
            let Some(row) = self.db.find_refresh_token(&hash).await? else {
                return refused(RefreshRefusal::Unknown);
            };
            let mark_parent_rotated = match TokenState::of(&row, self.sessions, now) {
                TokenState::Revoked => return refused(RefreshRefusal::Revoked),
                TokenState::Expired => return refused(RefreshRefusal::Expired),
                TokenState::Reused => {
                    let reason = (RevokeReason::ReuseDetected, EventKind::ReuseDetected);
                    self.revoke(&row, reason, client, now).await?;
                    tracing::warn!(
                        username = %row.username,
                        family = %row.family_id,
                        ip = client.ip.as_deref().unwrap_or("-"),
                        "refresh token reused after rotation: session family revoked"
                    );
                    return refused(RefreshRefusal::ReuseDetected);
                }
                // Within the grace window: a concurrent refresh. Answer with a sibling token.
                TokenState::RotatedWithinGrace => false,
                TokenState::Live => true,
            };
            let token = refresh_token::generate();
            let stored = self
                .db
                .rotate_refresh_token(
                    NewRefreshToken {
                        token_hash: &refresh_token::hash(&token),
                        user_id: row.user_id,
                        family_id: &row.family_id,
                        parent_id: Some(row.id),
                        now,
                        expires_at: row.expires_at,
                    },
                    mark_parent_rotated,
                    NewEvent {
                        kind: EventKind::Refresh,
                        username: &row.username,
                        family_id: Some(&row.family_id),
                        client,
                        at: now,
                    },
                )
                .await?;
            if stored {
                let issued = IssuedToken {
                    token,
                    max_age_secs: row.expires_at - now,
                    family_id: row.family_id.clone(),
                };
                return Ok((SessionUser::from(&row), issued));
            }
        }
        refused(RefreshRefusal::Revoked)
    }

    /// Ends the session of a refresh token (its whole family). Returns the username when a live
    /// session was ended; unknown or already-ended tokens are not an error (logout is idempotent).
    pub async fn logout(
        &self,
        presented: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<String>, AuthError> {
        let Some(presented) = presented.filter(|t| refresh_token::is_well_formed(t)) else {
            return Ok(None);
        };
        let Some(row) = self
            .db
            .find_refresh_token(&refresh_token::hash(presented))
            .await?
        else {
            return Ok(None);
        };
        let reason = (RevokeReason::Logout, EventKind::Logout);
        let ended = self.revoke(&row, reason, client, unix_now()).await?;
        if ended {
            tracing::info!(username = %row.username, "logged out");
        }
        Ok(ended.then_some(row.username))
    }

    /// Read-only check used by page guards during server rendering: whom does this refresh token
    /// log in, if anyone? Never rotates or revokes.
    pub async fn peek(&self, presented: Option<&str>) -> Result<Option<SessionUser>, AuthError> {
        let Some(presented) = presented.filter(|t| refresh_token::is_well_formed(t)) else {
            return Ok(None);
        };
        let row = self
            .db
            .find_refresh_token(&refresh_token::hash(presented))
            .await?;
        Ok(row
            .filter(|row| {
                matches!(
                    TokenState::of(row, self.sessions, unix_now()),
                    TokenState::Live | TokenState::RotatedWithinGrace
                )
            })
            .as_ref()
            .map(SessionUser::from))
    }

    /// Revokes `row`'s family for `reason`, recorded as an event of `kind`. Returns whether the
    /// session was still live.
    async fn revoke(
        &self,
        row: &RefreshTokenRow,
        (reason, kind): (RevokeReason, EventKind),
        client: &ClientInfo,
        now: i64,
    ) -> Result<bool, AuthError> {
        let event = NewEvent {
            kind,
            username: &row.username,
            family_id: Some(&row.family_id),
            client,
            at: now,
        };
        Ok(self.db.revoke_family(&row.family_id, reason, event).await? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: SessionPolicy = SessionPolicy {
        absolute_ttl_secs: 1000,
        idle_ttl_secs: 100,
        reuse_grace_secs: 10,
    };

    fn row(rotated_at: Option<i64>, revoked_at: Option<i64>) -> RefreshTokenRow {
        RefreshTokenRow {
            id: 1,
            user_id: 1,
            username: "user".into(),
            role: Role::User,
            family_id: "f".into(),
            last_used_at: 0,
            expires_at: 1000,
            rotated_at,
            revoked_at,
        }
    }

    #[test]
    fn a_token_is_classified_once_for_every_use() {
        assert_eq!(
            TokenState::of(&row(None, None), POLICY, 50),
            TokenState::Live
        );
        assert_eq!(
            TokenState::of(&row(Some(45), None), POLICY, 50),
            TokenState::RotatedWithinGrace
        );
        assert_eq!(
            TokenState::of(&row(Some(30), None), POLICY, 50),
            TokenState::Reused
        );
        assert_eq!(
            TokenState::of(&row(None, None), POLICY, 100),
            TokenState::Expired
        );
        assert_eq!(
            TokenState::of(&row(None, Some(1)), POLICY, 50),
            TokenState::Revoked
        );
    }
}
