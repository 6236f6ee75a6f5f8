//! The account itself, as its user sees it: the profile, a new address (it becomes the
//! account's only once the link mailed to it is used; the old address is told), the data
//! export, and deleting the account.

use crate::auth::email::EmailAddress;
use crate::auth::outbox::Notice;
use crate::auth::self_service::Caller;
use crate::auth::signup::LinkMail;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError};
use crate::db::{
    AccountChange, EventFilter, EventRow, LinkPurpose, SessionRecord, UserRow, UsernameKey,
};
use crate::model::{ClientInfo, EventKind, MailKind, Role};
use crate::routes;

/// The most audit events an export carries (the newest).
pub const MAX_EXPORTED_EVENTS: usize = 10_000;

/// What an account is, as its user sees it.
#[derive(Debug, Clone)]
pub struct Profile {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub role: Role,
    pub created_at: i64,
}

impl From<&UserRow> for Profile {
    fn from(user: &UserRow) -> Self {
        Self {
            username: user.username.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified_at.is_some(),
            role: user.role,
            created_at: user.created_at,
        }
    }
}

/// Everything stored about a user (their data export).
#[derive(Debug, Clone)]
pub struct Export {
    pub profile: Profile,
    pub sessions: Vec<SessionRecord>,
    /// The user's own audit events, newest first.
    pub events: Vec<EventRow>,
}

impl Auth {
    async fn caller_row(&self, caller: &Caller) -> Result<UserRow, AuthError> {
        self.db
            .find_user_by_id(caller.user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// The caller's profile.
    pub async fn profile(&self, caller: &Caller) -> Result<Profile, AuthError> {
        Ok(Profile::from(&self.caller_row(caller).await?))
    }

    /// Asks for `email` to become the caller's address: a link to it, a notice to the old one.
    /// An address another account has gets a "you already have an account" mail instead, and
    /// the same answer.
    pub async fn change_email(
        &self,
        caller: &Caller,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.mail.enabled {
            return Err(AuthError::MailNotConfigured);
        }
        let email = EmailAddress::parse(email)?;
        let user = self.caller_row(caller).await?;
        if user.email_verified_at.is_some()
            && user
                .email
                .as_deref()
                .is_some_and(|current| crate::db::EmailKey::of(current) == email.key())
        {
            return Ok(());
        }
        self.limit_mail(client, email.key().as_str()).await?;
        let now = self.now();
        match self.db.find_user_by_email(&email.key()).await? {
            Some(other) if other.id != user.id => {
                self.tell_address_in_use(&other.username, &email, client)
                    .await?;
            }
            _ => {
                let event = caller.event(EventKind::EmailChangeRequested, client, now);
                self.send_link(
                    LinkMail {
                        purpose: LinkPurpose::ChangeEmail,
                        kind: MailKind::ChangeEmail,
                        page: routes::VERIFY_EMAIL,
                        param: "token",
                        ttl_secs: self.mail.verify_ttl_secs,
                        user_id: Some(user.id),
                        username: &user.username,
                        address: email.as_str(),
                        role: None,
                        created_by: None,
                    },
                    event,
                )
                .await?;
            }
        }
        self.notify(&user, Notice::EmailChanged, Some(client)).await;
        Ok(())
    }

    /// Everything stored about the caller. Recorded as an audit event.
    pub async fn export(&self, caller: &Caller, client: &ClientInfo) -> Result<Export, AuthError> {
        let user = self.caller_row(caller).await?;
        let sessions = self.db.session_records(user.id).await?;
        let mut events = Vec::new();
        let mut filter = EventFilter {
            username: Some(UsernameKey::of(&user.username)),
            ..EventFilter::default()
        };
        // Events are kept by name: those from before this account was opened belong to an
        // earlier account of the same name, not to this user.
        while events.len() < MAX_EXPORTED_EVENTS {
            let page = self.db.list_events(filter.clone(), 500).await?;
            let Some(last) = page.last() else { break };
            filter.before_id = Some(last.id);
            let older = last.at < user.created_at;
            events.extend(page.into_iter().filter(|e| e.at >= user.created_at));
            if older {
                break;
            }
        }
        events.truncate(MAX_EXPORTED_EVENTS);
        let now = self.now();
        self.db
            .record_event(caller.event(EventKind::DataExported, client, now))
            .await?;
        Ok(Export {
            profile: Profile::from(&user),
            sessions,
            events,
        })
    }

    /// Deletes the caller's account, after checking their password (a throttled attempt):
    /// its sessions end at once and its rows go; the audit log keeps its events, which name
    /// the username. The last active administrator cannot delete their account.
    pub async fn delete_account(
        &self,
        caller: &Caller,
        password: String,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if password.is_empty() {
            return Err(AuthError::InvalidInput("Enter your password.".into()));
        }
        let user = self.caller_row(caller).await?;
        let mut attempt = self
            .attempt(&user.username, client, Secret::Password, None)
            .await?;
        let now = attempt.now();
        if !attempt
            .password(password, Some(user.password_hash.clone()))
            .await?
        {
            attempt.failed();
            return Err(AuthError::WrongPassword);
        }
        attempt.succeeded().await?;
        let event = caller.event(EventKind::AccountDeleted, client, now);
        match self
            .db
            .remove_user(&UsernameKey::of(&user.username), event)
            .await?
        {
            AccountChange::NotFound => Err(AuthError::NotFound),
            AccountChange::LastAdmin => Err(AuthError::LastAdmin),
            AccountChange::Done { ended_sessions } => {
                self.forget_sessions(ended_sessions);
                tracing::info!(username = ?user.username, "account deleted by its user");
                Ok(())
            }
        }
    }
}
