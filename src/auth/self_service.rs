//! What a logged-in user does to their own account: see and end their sessions, change their
//! password. Every step acts for the user and session named by a verified access token.

use crate::auth::accounts::check_new_password;
use crate::auth::jwt::Claims;
use crate::auth::login::ThrottlePolicy;
use crate::auth::rate_limit::limit_key;
use crate::auth::{unix_now, Auth, AuthError};
use crate::db::{ClientInfo, Liveness, NewEvent, SessionRow, ThrottleKeys};
use crate::model::{EventKind, RevokeReason};

/// Who is acting: the user and session of a verified access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub session_id: String,
}

impl Caller {
    /// From an access token's claims (`sub` is the user id).
    pub fn from_claims(claims: &Claims) -> Result<Self, AuthError> {
        let user_id = claims
            .sub
            .parse()
            .map_err(|_| AuthError::Token(crate::auth::jwt::TokenError::Invalid))?;
        Ok(Self {
            user_id,
            username: claims.username.clone(),
            session_id: claims.sid.clone(),
        })
    }
}

impl Auth {
    /// When a session counts as live at `now`.
    pub fn liveness(&self, now: i64) -> Liveness {
        Liveness {
            now,
            idle_since: now - self.sessions.idle_ttl_secs,
        }
    }

    fn caller_event<'a>(
        caller: &'a Caller,
        kind: EventKind,
        session: Option<&'a str>,
        client: &'a ClientInfo,
        now: i64,
    ) -> NewEvent<'a> {
        NewEvent {
            kind,
            username: &caller.username,
            family_id: session,
            client,
            at: now,
            actor: None,
        }
    }

    /// The caller's live sessions, newest activity first.
    pub async fn my_sessions(&self, caller: &Caller) -> Result<Vec<SessionRow>, AuthError> {
        let live = self.liveness(unix_now());
        Ok(self.db.list_sessions(caller.user_id, live).await?)
    }

    /// Ends one of the caller's sessions. Another user's session, or one that has already
    /// ended, is `NotFound` (never `Forbidden`: ids cannot be probed).
    pub async fn end_my_session(
        &self,
        caller: &Caller,
        session_id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = unix_now();
        let event = Self::caller_event(
            caller,
            EventKind::SessionRevoked,
            Some(session_id),
            client,
            now,
        );
        let ended = self
            .db
            .revoke_own_session(
                caller.user_id,
                session_id,
                self.liveness(now),
                RevokeReason::EndedByUser,
                event,
            )
            .await?;
        if !ended {
            return Err(AuthError::NotFound);
        }
        self.revoked.insert(session_id, now);
        Ok(())
    }

    /// Ends every session of the caller but the current one (`keep_current`) or all of them.
    pub async fn end_my_sessions(
        &self,
        caller: &Caller,
        keep_current: bool,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let now = unix_now();
        let keep = keep_current.then_some(caller.session_id.as_str());
        let event = Self::caller_event(caller, EventKind::SessionRevoked, keep, client, now);
        let ended = self
            .db
            .revoke_user_sessions(caller.user_id, keep, RevokeReason::EndedByUser, event)
            .await?;
        self.revoked
            .extend(ended.iter().map(|id| (id.clone(), now)));
        Ok(ended.len())
    }

    /// Changes the caller's password: the current one must be right (a wrong one counts
    /// against the login throttle, like a failed login), the new one must follow the rules.
    /// Every other session of the caller ends; the current one stays logged in.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: String,
        new: String,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if current.is_empty() || new.is_empty() {
            return Err(AuthError::InvalidInput(
                "Enter the current password and a new one.".into(),
            ));
        }
        check_new_password(&caller.username, &new)?;
        let now = unix_now();
        let keys = ThrottleKeys {
            user: caller.username.to_lowercase(),
            ip: client
                .ip
                .map(limit_key)
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        };
        let windows = self.throttle.windows();
        let counts = self.db.login_counts(&keys, windows, now).await?;
        let throttled = |retry_after| AuthError::Throttled { retry_after };
        if let Some(wait) = ThrottlePolicy::refusal(&self.throttle, &counts, now, false) {
            return Err(throttled(wait));
        }
        let slot = self.hasher.slot().await?;
        let counts = self.db.reserve_login_attempt(&keys, windows, now).await?;
        if let Some(wait) = ThrottlePolicy::refusal(&self.throttle, &counts, now, true) {
            return Err(throttled(wait));
        }
        let user = self
            .db
            .find_user(&caller.username)
            .await?
            .filter(|u| u.id == caller.user_id)
            .ok_or(AuthError::NotFound)?;
        let verified = match slot.verify(current, Some(user.password_hash)).await {
            Ok(verified) => verified,
            Err(e) => {
                self.db.release_login_attempt(&keys, false).await?;
                return Err(e.into());
            }
        };
        if !verified {
            let event = Self::caller_event(
                caller,
                EventKind::PasswordChangeFailure,
                Some(&caller.session_id),
                client,
                now,
            );
            self.db.record_event(event).await?;
            return Err(AuthError::WrongPassword);
        }
        self.db.release_login_attempt(&keys, true).await?;
        let phc = self.hasher.hash(new).await?;
        let event = Self::caller_event(
            caller,
            EventKind::PasswordChanged,
            Some(&caller.session_id),
            client,
            now,
        );
        let ended = self
            .db
            .change_password(caller.user_id, &phc, &caller.session_id, event)
            .await?;
        self.revoked.extend(ended.into_iter().map(|id| (id, now)));
        tracing::info!(username = ?caller.username, "password changed");
        Ok(())
    }
}
