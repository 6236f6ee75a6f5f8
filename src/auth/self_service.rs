//! What a logged-in user does to their own account: see and end their sessions, change their
//! password. Every step acts for the user and session named by a verified access token.

use crate::auth::jwt::Claims;
use crate::auth::outbox::Notice;
use crate::auth::password_rules::Owner;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError};
use crate::db::{Actor, Liveness, NewEvent, SessionRow, UsernameKey};
use crate::model::{ClientInfo, EventKind, RevokeReason};

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

    /// An event about the caller's own account, done by them from `client` in this session.
    pub(crate) fn event<'a>(
        &'a self,
        kind: EventKind,
        client: &'a ClientInfo,
        now: i64,
    ) -> NewEvent<'a> {
        NewEvent::new(kind, &self.username, Actor::User, now)
            .by(client)
            .session(&self.session_id)
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

    /// The caller's live sessions, newest activity first.
    pub async fn my_sessions(&self, caller: &Caller) -> Result<Vec<SessionRow>, AuthError> {
        let live = self.liveness(self.now());
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
        let now = self.now();
        let event = NewEvent::new(
            EventKind::SessionRevoked,
            &caller.username,
            Actor::User,
            now,
        )
        .by(client)
        .session(session_id);
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
        let now = self.now();
        let keep = keep_current.then_some(caller.session_id.as_str());
        let event = NewEvent::new(
            EventKind::SessionRevoked,
            &caller.username,
            Actor::User,
            now,
        )
        .by(client);
        let event = match keep {
            Some(current) => event.session(current),
            None => event,
        };
        let ended = self
            .db
            .revoke_user_sessions(caller.user_id, keep, RevokeReason::EndedByUser, event)
            .await?;
        let count = ended.len();
        self.forget_sessions(ended);
        Ok(count)
    }

    /// Changes the caller's password: the current one must be right (checked in a throttled
    /// attempt, like a login's), the new one must follow the rules. Every other session of the
    /// caller ends; the current one stays logged in.
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
        let user = self
            .db
            .find_user(&UsernameKey::of(&caller.username))
            .await?
            .filter(|u| u.id == caller.user_id)
            .ok_or(AuthError::NotFound)?;
        let owner = Owner {
            username: &user.username,
            email: user.email.as_deref(),
        };
        self.rules.check(&new, owner).await?;
        let mut attempt = self
            .attempt(&caller.username, client, Secret::Password, None)
            .await?;
        let now = attempt.now();
        if !attempt
            .password(current, Some(user.password_hash.clone()))
            .await?
        {
            attempt.failed();
            let event = caller.event(EventKind::PasswordChangeFailure, client, now);
            self.db.record_event(event).await?;
            return Err(AuthError::WrongPassword);
        }
        attempt.succeeded().await?;
        let phc = self.hasher.hash(new).await?;
        let event = caller.event(EventKind::PasswordChanged, client, now);
        let ended = self
            .db
            .change_password(caller.user_id, &phc, &caller.session_id, event)
            .await?;
        self.forget_sessions(ended);
        tracing::info!(username = ?caller.username, "password changed");
        self.notify(&user, Notice::PasswordChanged, Some(client))
            .await;
        Ok(())
    }
}
