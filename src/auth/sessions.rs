//! Sessions: one login, one chain of rotating refresh tokens, exactly one of them live.
//!
//! A login starts a session with a random token. A refresh replaces the live token by its
//! child, derived from it with the child key (see `refresh_token`); the session row keeps only
//! the live token and its parent, when the parent was rotated and by which client, and a count.
//! The child inherits the session's absolute expiry (rotation never extends a session). What a
//! presented token may do follows from one classification ([`TokenState`]), shared by the
//! refresh, the logout and the read-only page check:
//!
//! | presented token                                        | answer                               |
//! |--------------------------------------------------------|--------------------------------------|
//! | the live one                                           | rotate: its child becomes the live one |
//! | the live one's parent, within the grace window, from the client that rotated it | the same child again (`refresh_replayed`) |
//! | the parent from another client (address or user agent), or later | theft: the session is revoked |
//! | an older token of the chain (derived forward, it reaches the live one) | theft: revoked        |
//! | expired, revoked, unknown                              | refused, nothing written             |
//!
//! So two tabs or a retried request that present the same parent converge on one child, and a
//! thief replaying a stolen parent from elsewhere revokes the session at once instead of
//! following the victim. Writes are conditional ("rotate it if it is still the live token"); a
//! request that loses a race looks again, so concurrent refreshes never fail with a 5xx.

use crate::auth::refresh_token::{self, Presented};
use crate::auth::{Auth, AuthError, RefreshRefusal, SignedIn};
use crate::db::{Actor, NewEvent, NewSession, Rotation, SessionTokenRow};
use crate::model::{Amr, ClientInfo, EventKind, RevokeReason, Role};
use sha2::{Digest, Sha256};
use std::fmt;

/// Session lifetimes, in seconds, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Lifetime of a session from its login; rotation never extends it.
    pub absolute_ttl_secs: i64,
    /// A session unused this long is dead.
    pub idle_ttl_secs: i64,
    /// The live token's parent, presented again within this many seconds by the client that
    /// rotated it, gets its child again (at most 60).
    pub reuse_grace_secs: i64,
    /// How recent an authentication sensitive changes need (`REAUTH_MAX_AGE_SECS`).
    pub reauth_max_age_secs: i64,
}

/// A refresh token handed to the client, with what its cookie needs.
pub struct IssuedToken {
    /// The token itself: it goes into the cookie and nowhere else.
    pub token: String,
    /// Seconds until the session's absolute expiry: the cookie's Max-Age.
    pub max_age_secs: i64,
    pub session_id: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("max_age_secs", &self.max_age_secs)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// The user a session belongs to, as the database says now.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// How the user authenticated when the session started.
    pub amr: Amr,
    /// When they last authenticated (the login, or a re-authentication since).
    pub auth_time: i64,
}

impl From<&SessionTokenRow> for SessionUser {
    fn from(row: &SessionTokenRow) -> Self {
        Self {
            user_id: row.user_id,
            username: row.username.clone(),
            role: row.role,
            amr: row.amr,
            auth_time: row.auth_time,
        }
    }
}

/// What a presented refresh token can still do at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// The live token of a live session: it may be rotated.
    Live,
    /// The live token's parent, rotated moments ago (within the grace window).
    RotatedWithinGrace,
    /// The parent, rotated longer ago than the grace window: presenting it means theft.
    Reused,
    /// Neither the live token nor its parent: an older token of the chain, or none at all.
    Other,
    /// The session is past its absolute or idle expiry.
    Expired,
    /// The session was revoked.
    Revoked,
    /// The owner's account is locked.
    Locked,
}

impl TokenState {
    /// Classifies the token whose secret hashes to `presented` against `row` at time `now`.
    pub fn of(
        row: &SessionTokenRow,
        presented: &[u8; 32],
        policy: SessionPolicy,
        now: i64,
    ) -> Self {
        if row.revoked_at.is_some() {
            Self::Revoked
        } else if row.locked {
            Self::Locked
        } else if now >= row.expires_at
            || now >= row.last_used_at.saturating_add(policy.idle_ttl_secs)
        {
            Self::Expired
        } else if row.token_hash[..] == presented[..] {
            Self::Live
        } else if row.parent_hash.as_deref() == Some(&presented[..]) {
            match row.rotated_at {
                Some(at) if now - at <= policy.reuse_grace_secs => Self::RotatedWithinGrace,
                _ => Self::Reused,
            }
        } else {
            Self::Other
        }
    }
}

/// Who a client is, for "the same client replayed its own refresh": a digest of its address and
/// user agent (nothing of either is stored in the clear for this).
pub fn client_digest(client: &ClientInfo) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(b"jwt-auth/client/v1\0");
    digest.update(client.ip_text().unwrap_or_default().as_bytes());
    digest.update(b"\0");
    digest.update(client.user_agent.as_deref().unwrap_or_default().as_bytes());
    digest.finalize().into()
}

/// A request that loses a race looks again; three looks cover every sequence (live → rotated
/// → revoked).
const MAX_LOOKS: usize = 3;

impl Auth {
    /// Starts a session for a user whose password (and second factor) were just checked, at the
    /// account's security `epoch` as the check read it, recording `LoginSuccess`. `None` when
    /// the account changed meanwhile (locked, a new password, role or factor, its sessions
    /// ended): no session was started.
    pub(crate) async fn start_session(
        &self,
        user: &SessionUser,
        epoch: i64,
        client: &ClientInfo,
        now: i64,
    ) -> Result<Option<IssuedToken>, AuthError> {
        let secret = refresh_token::generate();
        let session_id = refresh_token::new_family_id();
        let expires_at = now.saturating_add(self.sessions.absolute_ttl_secs);
        let started = self
            .db
            .start_session(
                NewSession {
                    id: &session_id,
                    user_id: user.user_id,
                    epoch,
                    amr: user.amr,
                    token_hash: &refresh_token::hash(&secret),
                    now,
                    expires_at,
                    client,
                },
                NewEvent::new(EventKind::LoginSuccess, &user.username, Actor::User, now)
                    .by(client)
                    .session(&session_id),
            )
            .await?;
        Ok(started.then(|| IssuedToken {
            token: refresh_token::compose(&session_id, &secret),
            max_age_secs: expires_at - now,
            session_id,
        }))
    }

    /// The session a presented token names (or, for a token of the older form, whose live
    /// token it is). Read-only.
    async fn session_of(
        &self,
        presented: &Presented<'_>,
    ) -> Result<Option<SessionTokenRow>, AuthError> {
        Ok(match presented.session_id {
            Some(id) => self.db.find_session(id).await?,
            None => {
                let hash = refresh_token::hash(presented.secret);
                self.db.find_legacy_session(&hash).await?
            }
        })
    }

    /// Whether `secret`, neither the live token nor its parent, is an older token of `row`'s
    /// chain.
    fn is_ancestor(&self, row: &SessionTokenRow, secret: &str) -> bool {
        self.child_keys
            .leads_to(secret, &row.token_hash, row.refresh_count)
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
        let Some(presented) = presented.and_then(refresh_token::parse) else {
            return refused(RefreshRefusal::Unknown);
        };
        let hash = refresh_token::hash(presented.secret);
        let digest = client_digest(client);
        for _ in 0..MAX_LOOKS {
            let Some(row) = self.session_of(&presented).await? else {
                return refused(RefreshRefusal::Unknown);
            };
            let issued = |secret: String| IssuedToken {
                token: refresh_token::compose(&row.session_id, &secret),
                max_age_secs: row.expires_at - now,
                session_id: row.session_id.clone(),
            };
            match TokenState::of(&row, &hash, self.sessions, now) {
                TokenState::Revoked => return refused(RefreshRefusal::Revoked),
                TokenState::Locked => return refused(RefreshRefusal::AccountLocked),
                TokenState::Expired => return refused(RefreshRefusal::Expired),
                TokenState::Reused => return self.reuse_detected(&row, client, now).await,
                TokenState::Other if self.is_ancestor(&row, presented.secret) => {
                    return self.reuse_detected(&row, client, now).await
                }
                TokenState::Other => return refused(RefreshRefusal::Unknown),
                TokenState::RotatedWithinGrace => {
                    // Only the client that rotated may come back for the child, and only while
                    // the child is still live (the child may have been derived with another
                    // instance's active key).
                    let same_client = row.rotated_by.as_deref() == Some(&digest[..]);
                    let live_child = self
                        .child_keys
                        .candidates(presented.secret)
                        .find(|c| refresh_token::hash(c)[..] == row.token_hash[..]);
                    let (true, Some(child)) = (same_client, live_child) else {
                        return self.reuse_detected(&row, client, now).await;
                    };
                    let event =
                        NewEvent::new(EventKind::RefreshReplayed, &row.username, Actor::User, now)
                            .by(client)
                            .session(&row.session_id);
                    self.db.record_event(event).await?;
                    return Ok((SessionUser::from(&row), issued(child)));
                }
                TokenState::Live => {
                    let child = self.child_keys.child_of(presented.secret);
                    let rotation = Rotation {
                        session_id: &row.session_id,
                        parent_hash: &hash,
                        child_hash: &refresh_token::hash(&child),
                        client_digest: &digest,
                        now,
                        client,
                    };
                    if self.db.rotate_refresh_token(rotation).await? {
                        return Ok((SessionUser::from(&row), issued(child)));
                    }
                    // Another request rotated or revoked it meanwhile: look again.
                }
            }
        }
        refused(RefreshRefusal::Revoked)
    }

    async fn reuse_detected<T>(
        &self,
        row: &SessionTokenRow,
        client: &ClientInfo,
        now: i64,
    ) -> Result<T, AuthError> {
        let reason = (RevokeReason::ReuseDetected, EventKind::ReuseDetected);
        self.revoke(row, reason, client, now).await?;
        tracing::warn!(
            username = ?row.username,
            session = %row.session_id,
            ip = ?client.ip,
            "refresh token reused: session revoked"
        );
        Err(AuthError::RefreshRefused(RefreshRefusal::ReuseDetected))
    }

    /// Ends the session of a refresh token (the live one, its parent, or an older one of the
    /// chain). Returns the username when a live session was ended; unknown or already-ended
    /// tokens are not an error (logout is idempotent).
    pub async fn logout(
        &self,
        presented: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<String>, AuthError> {
        let Some(presented) = presented.and_then(refresh_token::parse) else {
            return Ok(None);
        };
        let Some(row) = self.session_of(&presented).await? else {
            return Ok(None);
        };
        let hash = refresh_token::hash(presented.secret);
        let known = row.token_hash[..] == hash[..]
            || row.parent_hash.as_deref() == Some(&hash[..])
            || self.is_ancestor(&row, presented.secret);
        if !known {
            return Ok(None);
        }
        let reason = (RevokeReason::Logout, EventKind::Logout);
        let ended = self.revoke(&row, reason, client, self.now()).await?;
        if ended {
            tracing::info!(username = ?row.username, "logged out");
        }
        Ok(ended.then_some(row.username))
    }

    /// Read-only check used by page guards during server rendering: whom does this refresh
    /// token log in, if anyone? Never rotates or revokes.
    pub async fn peek(&self, presented: Option<&str>) -> Result<Option<SessionUser>, AuthError> {
        let Some(presented) = presented.and_then(refresh_token::parse) else {
            return Ok(None);
        };
        let hash = refresh_token::hash(presented.secret);
        Ok(self
            .session_of(&presented)
            .await?
            .filter(|row| {
                matches!(
                    TokenState::of(row, &hash, self.sessions, self.now()),
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
        row: &SessionTokenRow,
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
        reauth_max_age_secs: 300,
    };

    fn row(rotated_at: Option<i64>, revoked_at: Option<i64>) -> SessionTokenRow {
        SessionTokenRow {
            session_id: "s".into(),
            user_id: 1,
            username: "user".into(),
            role: Role::User,
            locked: false,
            expires_at: 1000,
            last_used_at: 0,
            revoked_at,
            amr: Amr::Password,
            auth_time: 0,
            token_hash: vec![1; 32],
            parent_hash: rotated_at.map(|_| vec![2; 32]),
            rotated_at,
            rotated_by: None,
            refresh_count: 1,
        }
    }

    #[test]
    fn a_token_is_classified_once_for_every_use() {
        let (live, parent, other) = ([1; 32], [2; 32], [3; 32]);
        let state =
            |row: &SessionTokenRow, token: &[u8; 32], now| TokenState::of(row, token, POLICY, now);
        assert_eq!(state(&row(None, None), &live, 50), TokenState::Live);
        assert_eq!(
            state(&row(Some(45), None), &parent, 50),
            TokenState::RotatedWithinGrace
        );
        assert_eq!(state(&row(Some(30), None), &parent, 50), TokenState::Reused);
        assert_eq!(state(&row(Some(45), None), &other, 50), TokenState::Other);
        assert_eq!(state(&row(None, None), &live, 100), TokenState::Expired);
        assert_eq!(state(&row(None, Some(1)), &live, 50), TokenState::Revoked);
        let locked = SessionTokenRow {
            locked: true,
            ..row(None, None)
        };
        assert_eq!(state(&locked, &live, 50), TokenState::Locked);
    }

    #[test]
    fn a_client_is_its_address_and_user_agent() {
        let a = ClientInfo {
            ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: Some("Firefox".into()),
        };
        let other_address = ClientInfo {
            ip: Some("192.0.2.2".parse().unwrap()),
            ..a.clone()
        };
        let other_agent = ClientInfo {
            user_agent: Some("curl".into()),
            ..a.clone()
        };
        assert_eq!(client_digest(&a), client_digest(&a.clone()));
        assert_ne!(client_digest(&a), client_digest(&other_address));
        assert_ne!(client_digest(&a), client_digest(&other_agent));
    }
}
