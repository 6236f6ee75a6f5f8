//! "Forgot your password?": a reset link mailed to the account's address, and the new
//! password it lets its holder set.
//!
//! The request answers the same whether or not an account has the address, and it answers
//! before the lookup runs (the lookup and the mail happen in a task of their own), so neither
//! the body nor the timing tells. The throttle counts every request, per client address and
//! per recipient address. The reset itself ends every session of the account at once (their
//! access tokens are refused), spends the account's other reset links, and leaves the second
//! factor as it was: the next login still asks for it.

use crate::auth::email::{hash_token, EmailAddress};
use crate::auth::outbox::Notice;
use crate::auth::password_rules::Owner;
use crate::auth::signup::LinkMail;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError};
use crate::db::{Actor, LinkPurpose, NewEvent};
use crate::model::{ClientInfo, EventKind, MailKind};
use crate::routes;
use std::sync::Arc;

impl Auth {
    /// Mails a reset link to `email` if an account has it. `MailNotConfigured` when this
    /// server cannot send mail (the flow is not offered).
    pub async fn forgot_password(
        self: &Arc<Self>,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.mail.enabled {
            return Err(AuthError::MailNotConfigured);
        }
        let email = EmailAddress::parse(email)?;
        self.limit_mail(client, email.key().as_str()).await?;
        let (auth, client) = (self.clone(), client.clone());
        tokio::spawn(async move {
            if let Err(e) = auth.send_reset_link(&email, &client).await {
                tracing::warn!(error = %e, "a reset mail could not be queued");
            }
        });
        Ok(())
    }

    async fn send_reset_link(
        &self,
        email: &EmailAddress,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let Some(user) = self.db.find_user_by_email(&email.key()).await? else {
            tracing::debug!("password reset asked for an address no account has");
            return Ok(());
        };
        let address = user
            .email
            .clone()
            .unwrap_or_else(|| email.as_str().to_owned());
        let event = NewEvent::new(
            EventKind::PasswordResetRequested,
            &user.username,
            Actor::User,
            self.now(),
        )
        .by(client);
        self.send_link(
            LinkMail {
                purpose: LinkPurpose::ResetPassword,
                kind: MailKind::ResetPassword,
                page: routes::RESET_PASSWORD,
                param: "token",
                ttl_secs: self.mail.reset_ttl_secs,
                user_id: Some(user.id),
                username: &user.username,
                address: &address,
                role: None,
                created_by: None,
            },
            event,
        )
        .await?;
        tracing::info!(username = ?user.username, "password reset link sent");
        Ok(())
    }

    /// Sets a new password through a reset link: every session of the account ends.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: String,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.mail.enabled {
            return Err(AuthError::MailNotConfigured);
        }
        let attempt = self.attempt("", client, Secret::Link, None).await?;
        let hash = hash_token(token);
        // Who the link is for decides what the password must not be; an unusable link is
        // refused before any hashing.
        let Some(user) = self.db.reset_link_owner(&hash, attempt.now()).await? else {
            attempt.failed();
            return Err(AuthError::InvalidLink);
        };
        let owner = Owner {
            username: &user.username,
            email: user.email.as_deref(),
        };
        if let Err(weak) = self.rules.check(&new_password, owner).await {
            attempt.not_checked().await?;
            return Err(weak);
        }
        let phc = self.hasher.hash(new_password).await?;
        let now = attempt.now();
        let event = NewEvent::new(EventKind::PasswordReset, "", Actor::User, now).by(client);
        let Some(reset) = self.db.reset_password(&hash, &phc, event).await? else {
            attempt.failed();
            return Err(AuthError::InvalidLink);
        };
        attempt.succeeded().await?;
        self.forget_sessions(reset.ended_sessions);
        tracing::info!(username = ?reset.username, "password reset");
        if let Some(user) = self.db.find_user_by_id(reset.user_id).await? {
            self.notify(&user, Notice::PasswordReset, Some(client))
                .await;
        }
        Ok(())
    }
}
