//! The admin area's operations. Each takes the acting administrator (from a verified access
//! token whose role is `admin`; anyone else is `Forbidden`) and records them as the event's
//! actor. Locking an account or changing its role ends its sessions at once: access tokens
//! carry the role, so a demotion must not wait for their expiry.

use crate::auth::accounts::Username;
use crate::auth::jwt::Claims;
use crate::auth::{Auth, AuthError};
use crate::db::{
    AccountChange, AccountEdit, Actor, Db, EventFilter, EventRow, NewEvent, UserSummary,
};
use crate::model::{ClientInfo, EventKind, RevokeReason, Role};

/// Audit events per page.
pub const EVENTS_PER_PAGE: u32 = 50;

/// An administrator, proven by their access token.
#[derive(Debug, Clone)]
pub struct Admin {
    pub username: String,
}

impl Admin {
    /// `Forbidden` unless the token's role is `admin`.
    pub fn from_claims(claims: &Claims) -> Result<Self, AuthError> {
        if claims.role != Role::Admin {
            return Err(AuthError::Forbidden);
        }
        Ok(Self {
            username: claims.username.clone(),
        })
    }
}

/// One page of the audit log and the cursor of the next (`None`: the last page).
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<EventRow>,
    pub next_cursor: Option<i64>,
}

/// An action on an account, for the audit log: who, from where, when.
#[derive(Debug, Clone, Copy)]
pub struct Acting<'a> {
    /// An administrator, or the command line.
    pub actor: Actor<'a>,
    /// The client of an administrator's request (none for the command line).
    pub client: Option<&'a ClientInfo>,
    pub now: i64,
}

impl Acting<'_> {
    /// The audit record of this action.
    pub(crate) fn event<'a>(&'a self, kind: EventKind, username: &'a str) -> NewEvent<'a> {
        let event = NewEvent::new(kind, username, self.actor, self.now);
        match self.client {
            Some(client) => event.by(client),
            None => event,
        }
    }
}

fn applied(change: AccountChange) -> Result<Vec<String>, AuthError> {
    match change {
        AccountChange::NotFound => Err(AuthError::NotFound),
        AccountChange::LastAdmin => Err(AuthError::LastAdmin),
        AccountChange::Done { ended_sessions } => Ok(ended_sessions),
    }
}

/// Locks (ending its sessions) or unlocks an account. Returns the ended sessions.
pub async fn lock(
    db: &Db,
    acting: Acting<'_>,
    username: &Username,
    locked: bool,
) -> Result<Vec<String>, AuthError> {
    let kind = if locked {
        EventKind::AccountLocked
    } else {
        EventKind::AccountUnlocked
    };
    let event = acting.event(kind, username.as_str());
    applied(
        db.edit_account(&username.key(), AccountEdit::Lock(locked), event)
            .await?,
    )
}

/// Changes an account's role (ending its sessions). Returns the ended sessions.
pub async fn change_role(
    db: &Db,
    acting: Acting<'_>,
    username: &Username,
    role: Role,
) -> Result<Vec<String>, AuthError> {
    let event = acting.event(EventKind::RoleChanged, username.as_str());
    applied(
        db.edit_account(&username.key(), AccountEdit::Role(role), event)
            .await?,
    )
}

/// Ends every session of an account. Returns the ended sessions.
pub async fn end_sessions(
    db: &Db,
    acting: Acting<'_>,
    username: &Username,
) -> Result<Vec<String>, AuthError> {
    let user = db
        .find_user(&username.key())
        .await?
        .ok_or(AuthError::NotFound)?;
    let event = acting.event(EventKind::SessionsRevoked, &user.username);
    Ok(db
        .revoke_user_sessions(user.id, None, RevokeReason::Admin, event)
        .await?)
}

impl Auth {
    /// What an administrator's request records about who acted.
    pub(crate) fn acting<'a>(&self, admin: &'a Admin, client: &'a ClientInfo) -> Acting<'a> {
        Acting {
            actor: Actor::Admin(&admin.username),
            client: Some(client),
            now: self.now(),
        }
    }

    /// Every account.
    pub async fn list_users(&self, _admin: &Admin) -> Result<Vec<UserSummary>, AuthError> {
        Ok(self.db.list_users(self.liveness(self.now())).await?)
    }

    /// Locks (ending its sessions) or unlocks an account.
    pub async fn set_locked(
        &self,
        admin: &Admin,
        username: &Username,
        locked: bool,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let ended = lock(&self.db, self.acting(admin, client), username, locked).await?;
        self.forget_sessions(ended);
        Ok(())
    }

    /// Changes an account's role (ending its sessions).
    pub async fn set_role(
        &self,
        admin: &Admin,
        username: &Username,
        role: Role,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let ended = change_role(&self.db, self.acting(admin, client), username, role).await?;
        self.forget_sessions(ended);
        Ok(())
    }

    /// Ends every session of an account.
    pub async fn end_user_sessions(
        &self,
        admin: &Admin,
        username: &Username,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let ended = end_sessions(&self.db, self.acting(admin, client), username).await?;
        let count = ended.len();
        self.forget_sessions(ended);
        Ok(count)
    }

    /// One page of the audit log, newest first.
    pub async fn list_events(
        &self,
        _admin: &Admin,
        filter: EventFilter,
    ) -> Result<EventPage, AuthError> {
        let mut events = self.db.list_events(filter, EVENTS_PER_PAGE + 1).await?;
        let more = events.len() > EVENTS_PER_PAGE as usize;
        events.truncate(EVENTS_PER_PAGE as usize);
        let next_cursor = more.then(|| events.last().map(|e| e.id)).flatten();
        Ok(EventPage {
            events,
            next_cursor,
        })
    }
}
