//! The audit log: one row per state change of a session or an account, naming who did it.
//! Never a password, a token or a code.

use super::engine::{stmt, Backend, Driver, Engine, SqlTx};
use super::{DbError, UsernameKey};
use crate::model::{ClientInfo, EventKind};

/// Who did what an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    /// The user themself (or, for a failed login, whoever tried).
    User,
    /// An administrator, by name.
    Admin(&'a str),
    /// The command line (`jwt-auth user …`).
    Cli,
    /// Development seeding (the demo accounts).
    Seed,
}

/// One audit record, built with [`NewEvent::new`].
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub kind: EventKind,
    /// The account concerned (as typed, for a failed login).
    pub username: &'a str,
    /// The session concerned, if any.
    pub session: Option<&'a str>,
    /// The client that made the request, if one did (not for the command line).
    pub client: Option<&'a ClientInfo>,
    pub actor: Actor<'a>,
    pub at: i64,
    /// A short, non-secret word saying more (which notice, which link).
    pub detail: Option<&'static str>,
}

impl<'a> NewEvent<'a> {
    /// `kind` happened to `username`'s account at `at`, done by `actor`.
    pub fn new(kind: EventKind, username: &'a str, actor: Actor<'a>, at: i64) -> Self {
        Self {
            kind,
            username,
            session: None,
            client: None,
            actor,
            at,
            detail: None,
        }
    }

    /// With a word saying more (never a secret).
    pub fn detail(self, detail: &'static str) -> Self {
        Self {
            detail: Some(detail),
            ..self
        }
    }

    /// Made by this client (its address and user agent are recorded).
    pub fn by(self, client: &'a ClientInfo) -> Self {
        Self {
            client: Some(client),
            ..self
        }
    }

    /// About this session.
    pub fn session(self, id: &'a str) -> Self {
        Self {
            session: Some(id),
            ..self
        }
    }

    /// The client's address as stored.
    pub fn ip(&self) -> Option<String> {
        self.client.and_then(ClientInfo::ip_text)
    }

    pub fn user_agent(&self) -> Option<&'a str> {
        self.client.and_then(|c| c.user_agent.as_deref())
    }

    /// The `actor` column: empty when the user acted themself.
    pub fn actor(&self) -> Option<&'a str> {
        match self.actor {
            Actor::User => None,
            Actor::Admin(name) => Some(name),
            Actor::Cli => Some("cli"),
            Actor::Seed => Some("seed"),
        }
    }
}

/// An audit event as the admin area lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub kind: EventKind,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub actor: Option<String>,
    pub detail: Option<String>,
}

/// Which audit events to list: older than `before_id` (the cursor), optionally one user's or
/// one kind's.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub before_id: Option<i64>,
    pub username: Option<UsernameKey>,
    pub kind: Option<EventKind>,
}

/// The audit log.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends to the audit log.
    async fn record_event(&self, event: NewEvent<'_>) -> Result<(), DbError>;

    /// One page of the audit log, newest first.
    async fn list_events(&self, filter: EventFilter, limit: u32) -> Result<Vec<EventRow>, DbError>;
}

const INSERT_EVENT: &str = "INSERT INTO auth_events
         (at, kind, username, username_key, family_id, ip, user_agent, actor, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const LIST_EVENTS: &str = "SELECT id, at, kind, username, ip, user_agent, actor, detail
     FROM auth_events
     WHERE ($1 IS NULL OR id < $1)
       AND ($2 IS NULL OR username_key = $2)
       AND ($3 IS NULL OR kind = $3)
     ORDER BY id DESC LIMIT $4";

/// Appends `event` inside a step's transaction.
pub(crate) async fn record<DB: Driver>(
    tx: &mut SqlTx<DB>,
    event: &NewEvent<'_>,
) -> Result<(), DbError> {
    let key = UsernameKey::of(event.username);
    tx.execute(stmt!(
        INSERT_EVENT,
        event.at,
        event.kind,
        event.username,
        key.as_str(),
        event.session,
        event.ip(),
        event.user_agent(),
        event.actor(),
        event.detail,
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl<E: Engine> AuditStore for Backend<E> {
    async fn record_event(&self, event: NewEvent<'_>) -> Result<(), DbError> {
        let mut tx = self.begin().await?;
        record(&mut tx, &event).await?;
        tx.commit().await
    }

    async fn list_events(&self, filter: EventFilter, limit: u32) -> Result<Vec<EventRow>, DbError> {
        let username = filter.username.as_ref().map(UsernameKey::as_str);
        let kind = filter.kind.map(EventKind::as_str);
        self.fetch_all(stmt!(
            LIST_EVENTS,
            filter.before_id,
            username,
            kind,
            i64::from(limit)
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_stored_as_the_log_always_named_them() {
        let at = |actor| NewEvent::new(EventKind::UserCreated, "carol", actor, 0).actor();
        assert_eq!(at(Actor::User), None);
        assert_eq!(at(Actor::Admin("root")), Some("root"));
        assert_eq!(at(Actor::Cli), Some("cli"));
        assert_eq!(at(Actor::Seed), Some("seed"));
    }
}
