//! Sessions: one login, one chain of rotating refresh tokens, exactly one of them live.
//!
//! A login starts a session with a random token. A refresh marks the presented token rotated
//! and stores its child, derived from it with the child key (see `refresh_token`); the child
//! inherits the session's absolute expiry (rotation never extends a session). What a presented
//! token may do follows from one classification ([`TokenState`]), shared by the refresh, the
//! logout and the read-only page check:
//!
//! | presented token                                   | answer                                     |
//! |---------------------------------------------------|--------------------------------------------|
//! | the live one                                      | rotate: its child becomes the live one     |
//! | the live one's parent, within the grace window    | the same child again (nothing is written)  |
//! | any other rotated token, or the parent later      | theft: the session is revoked              |
//! | expired, revoked, unknown                         | refused                                    |
//!
//! So two tabs or a retried request that present the same parent converge on one child, and a
//! thief replaying a stolen parent either gets the victim's own child (and is caught at the
//! next rotation) or revokes the session. Writes are conditional steps of the store ("rotate it
//! if nobody else has"); a request that loses a race looks again, so concurrent refreshes never
//! corrupt a row or fail with a 5xx.

use crate::auth::{refresh_token, Auth, AuthError, RefreshRefusal, SignedIn};
use crate::db::{Actor, NewEvent, NewSession, RefreshTokenRow, Rotation};
use crate::model::{Amr, ClientInfo, EventKind, RevokeReason, Role};

/// Session lifetimes, in seconds, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Lifetime of a session from its login; rotation never extends it.
    pub absolute_ttl_secs: i64,
    /// A session unused this long is dead.
    pub idle_ttl_secs: i64,
    /// A rotated token presented again within this many seconds gets its child again.
    pub reuse_grace_secs: i64,
}

/// A refresh token handed to the client, with what its cookie needs.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token itself: it goes into the cookie and nowhere else.
    pub token: String,
    /// Seconds until the session's absolute expiry: the cookie's Max-Age.
    pub max_age_secs: i64,
    pub session_id: String,
}

/// The user a session belongs to, as the database says now.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// How the user authenticated when the session started.
    pub amr: Amr,
}

impl From<&RefreshTokenRow> for SessionUser {
    fn from(row: &RefreshTokenRow) -> Self {
        Self {
            user_id: row.user_id,
            username: row.username.clone(),
            role: row.role,
            amr: row.amr,
        }
    }
}

/// What a stored refresh token can still do at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// The live token of a live session: it may be rotated.
    Live,
    /// Rotated moments ago (within the grace window): if its child is still the live token,
    /// this is a concurrent or retried refresh.
    RotatedWithinGrace,
    /// Rotated longer ago than the grace window: presenting it means theft.
    Reused,
    /// The session is past its absolute or idle expiry.
    Expired,
    /// The session was revoked.
    Revoked,
    /// The owner's account is locked.
    Locked,
}

impl TokenState {
    /// Classifies `row` at time `now`.
    pub fn of(row: &RefreshTokenRow, policy: SessionPolicy, now: i64) -> Self {
        if row.revoked_at.is_some() {
            Self::Revoked
        } else if row.locked {
            Self::Locked
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

/// A request that loses a race looks again; three looks cover every sequence (live → rotated
/// → revoked).
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
        let session_id = refresh_token::new_family_id();
        let expires_at = now.saturating_add(self.sessions.absolute_ttl_secs);
        self.db
            .start_session(
                NewSession {
                    id: &session_id,
                    user_id: user.user_id,
                    amr: user.amr,
                    token_hash: &refresh_token::hash(&token),
                    now,
                    expires_at,
                    client,
                },
                NewEvent::new(EventKind::LoginSuccess, &user.username, Actor::User, now)
                    .by(client)
                    .session(&session_id),
            )
            .await?;
        Ok(IssuedToken {
            token,
            max_age_secs: expires_at - now,
            session_id,
        })
    }

    /// Exchanges a refresh token for its child and a new access token, detecting reuse.
    /// `presented` is the cookie's value, if there was one.
    pub async fn refresh(
        &self,
        presented: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let now = self.now();
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
        let child = self.child_keys.child_of(presented);
        let child_hash = refresh_token::hash(&child);
        for _ in 0..MAX_LOOKS {
            let Some(row) = self.db.find_refresh_token(&hash).await? else {
                return refused(RefreshRefusal::Unknown);
            };
            match TokenState::of(&row, self.sessions, now) {
                TokenState::Revoked => return refused(RefreshRefusal::Revoked),
                TokenState::Locked => return refused(RefreshRefusal::AccountLocked),
                TokenState::Expired => return refused(RefreshRefusal::Expired),
                TokenState::Reused => return self.reuse_detected(&row, client, now).await,
                TokenState::RotatedWithinGrace => {
                    // Only the live token's parent may come back: if the child was rotated in
                    // turn, this is an older token than any honest client still holds. The
                    // child may have been derived with another instance's active key.
                    let mut live_child = None;
                    for candidate in self.child_keys.candidates(presented) {
                        let candidate_hash = refresh_token::hash(&candidate);
                        let row_of_child = self.db.find_refresh_token(&candidate_hash).await?;
                        if row_of_child.is_some_and(|c| {
                            c.session_id == row.session_id && c.rotated_at.is_none()
                        }) {
                            live_child = Some(candidate);
                            break;
                        }
                    }
                    let Some(found) = live_child else {
                        return self.reuse_detected(&row, client, now).await;
                    };
                    let issued = IssuedToken {
                        token: found,
                        max_age_secs: row.expires_at - now,
                        session_id: row.session_id.clone(),
                    };
                    return Ok((SessionUser::from(&row), issued));
                }
                TokenState::Live => {
                    let rotation = Rotation {
                        parent_id: row.id,
                        session_id: &row.session_id,
                        child_hash: &child_hash,
                        now,
                        client,
                    };
                    let event = NewEvent::new(EventKind::Refresh, &row.username, Actor::User, now)
                        .by(client)
                        .session(&row.session_id);
                    if !self.db.rotate_refresh_token(rotation, event).await? {
                        // Another request rotated or revoked it meanwhile: look again.
                        continue;
                    }
                }
            }
            let issued = IssuedToken {
                token: child,
                max_age_secs: row.expires_at - now,
                session_id: row.session_id.clone(),
            };
            return Ok((SessionUser::from(&row), issued));
        }
        refused(RefreshRefusal::Revoked)
    }

    async fn reuse_detected<T>(
        &self,
        row: &RefreshTokenRow,
        client: &ClientInfo,
        now: i64,
    ) -> Result<T, AuthError> {
        let reason = (RevokeReason::ReuseDetected, EventKind::ReuseDetected);
        self.revoke(row, reason, client, now).await?;
        tracing::warn!(
            username = ?row.username,
            session = %row.session_id,
            ip = ?client.ip,
            "refresh token reused after rotation: session revoked"
        );
        Err(AuthError::RefreshRefused(RefreshRefusal::ReuseDetected))
    }

    /// Ends the session of a refresh token. Returns the username when a live session was ended;
    /// unknown or already-ended tokens are not an error (logout is idempotent).
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
        let ended = self.revoke(&row, reason, client, self.now()).await?;
        if ended {
            tracing::info!(username = ?row.username, "logged out");
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
                    TokenState::of(row, self.sessions, self.now()),
                    TokenState::Live | TokenState::RotatedWithinGrace
                )
            })
            .as_ref()
            .map(SessionUser::from))
    }

    /// Revokes `row`'s session for `reason`, recorded as an event of `kind`, and refuses its
    /// access tokens from now on. Returns whether the session was still live.
    async fn revoke(
        &self,
        row: &RefreshTokenRow,
        (reason, kind): (RevokeReason, EventKind),
        client: &ClientInfo,
        now: i64,
    ) -> Result<bool, AuthError> {
        let event = NewEvent::new(kind, &row.username, Actor::User, now)
            .by(client)
            .session(&row.session_id);
        let ended = self
            .db
            .revoke_session(&row.session_id, reason, event)
            .await?;
        self.revoked.insert(&row.session_id, now);
        Ok(ended)
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
            session_id: "s".into(),
            rotated_at,
            user_id: 1,
            username: "user".into(),
            role: Role::User,
            expires_at: 1000,
            last_used_at: 0,
            revoked_at,
            locked: false,
            amr: Amr::Password,
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
        let locked = RefreshTokenRow {
            locked: true,
            ..row(None, None)
        };
        assert_eq!(TokenState::of(&locked, POLICY, 50), TokenState::Locked);
    }
}
