//! What administrators do about mail: invite an address (in `invite` or `open` mode), see and
//! withdraw pending invitations, see the mails that could not be delivered and queue them
//! again.

use crate::auth::admin::Admin;
use crate::auth::email::EmailAddress;
use crate::auth::signup::{LinkMail, NewLinkSent};
use crate::auth::{Auth, AuthError};
use crate::db::{Actor, FailedMail, InvitationRow, LinkPurpose, NewEvent};
use crate::model::{ClientInfo, EventKind, MailKind, Role, SignupMode};
use crate::routes;

/// Failed mails an admin sees at once.
pub const FAILED_MAILS_SHOWN: u32 = 100;

/// An invitation that was sent.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

impl Auth {
    /// Invites `email` to open one account with `role`: a link mailed to it, valid
    /// `INVITE_TTL_SECS`.
    pub async fn invite(
        &self,
        admin: &Admin,
        email: &str,
        role: Role,
        client: &ClientInfo,
    ) -> Result<Invitation, AuthError> {
        if self.mail.signup == SignupMode::Closed {
            return Err(AuthError::SignupClosed);
        }
        if !self.mail.enabled {
            return Err(AuthError::MailNotConfigured);
        }
        let email = EmailAddress::parse(email)?;
        if self.db.find_user_by_email(&email.key()).await?.is_some() {
            return Err(AuthError::InvalidEmail(
                "An account already has that e-mail address.",
            ));
        }
        let now = self.now();
        let event = NewEvent::new(
            EventKind::InvitationCreated,
            email.as_str(),
            Actor::Admin(&admin.username),
            now,
        )
        .by(client)
        .detail(role.as_str());
        let NewLinkSent { id, expires_at } = self
            .send_link(
                LinkMail {
                    purpose: LinkPurpose::Invitation,
                    kind: MailKind::Invitation,
                    page: routes::SIGNUP,
                    param: "invite",
                    ttl_secs: self.mail.invite_ttl_secs,
                    user_id: None,
                    username: email.as_str(),
                    address: email.as_str(),
                    role: Some(role),
                    created_by: Some(&admin.username),
                },
                event,
            )
            .await?;
        tracing::info!(by = ?admin.username, %role, "invitation sent");
        Ok(Invitation {
            id,
            email: email.as_str().to_owned(),
            role,
            expires_at,
        })
    }

    /// Invitations not used and not expired, newest first.
    pub async fn pending_invitations(
        &self,
        _admin: &Admin,
    ) -> Result<Vec<InvitationRow>, AuthError> {
        Ok(self.db.pending_invitations(self.now()).await?)
    }

    /// Withdraws a pending invitation (its link stops working).
    pub async fn revoke_invitation(
        &self,
        admin: &Admin,
        id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        if !self.db.revoke_invitation(id, now).await? {
            return Err(AuthError::NotFound);
        }
        let event = NewEvent::new(
            EventKind::InvitationRevoked,
            id,
            Actor::Admin(&admin.username),
            now,
        )
        .by(client);
        self.db.record_event(event).await?;
        Ok(())
    }

    /// The newest mails that could not be delivered.
    pub async fn failed_mail(&self, _admin: &Admin) -> Result<Vec<FailedMail>, AuthError> {
        Ok(self.db.failed_mail(FAILED_MAILS_SHOWN).await?)
    }

    /// Queues a failed mail again, due now.
    pub async fn retry_mail(&self, admin: &Admin, id: i64) -> Result<(), AuthError> {
        if !self.db.retry_mail(id, self.now()).await? {
            return Err(AuthError::NotFound);
        }
        tracing::info!(by = ?admin.username, id, "failed mail queued again");
        self.mail_queued();
        Ok(())
    }
}
