//! Opening accounts: an open sign-up (an unverified account and a verification link), an
//! invitation (an account with the invited address and role, logged in at once), verifying an
//! address, and sending the verification link again.
//!
//! Nothing here tells whether an address has an account: a sign-up with an address in use
//! answers like any other (and that address is told "you already have an account"), a resend
//! answers the same whatever the address. Usernames are public (they are how people log in), so
//! a taken one is said to be taken.

use crate::auth::accounts::Username;
use crate::auth::email::{EmailAddress, LinkToken};
use crate::auth::outbox::Letter;
use crate::auth::password_rules::Owner;
use crate::auth::sessions::SessionUser;
use crate::auth::throttle::Secret;
use crate::auth::{Auth, AuthError, SignedIn};
use crate::db::{Accepted, Actor, LinkPurpose, NewEvent, NewLink, NewMail, NewUser, SignUp};
use crate::model::{Amr, ClientInfo, EventKind, MailKind, Role, SignupMode, SiteFeatures};
use crate::routes;
use std::sync::Arc;

/// What a sign-up led to.
#[derive(Debug)]
pub enum SignedUp {
    /// An open sign-up: check your mail (whether or not the address had an account).
    VerificationSent,
    /// An invitation: the account exists and is logged in.
    SignedIn(Box<SignedIn>),
}

/// What a sign-up asks for.
#[derive(Clone)]
pub struct SignUpRequest<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub password: String,
    /// An invitation's token, from its link.
    pub invite: Option<&'a str>,
}

impl Auth {
    /// What the pages offer: sign-up, and "forgot password" when mail works.
    pub fn features(&self) -> SiteFeatures {
        SiteFeatures {
            signup: self.mail.signup,
            password_reset: self.mail.enabled,
        }
    }

    /// Opens an account: with an invitation in `invite` or `open` mode, without one in `open`
    /// mode only.
    pub async fn sign_up(
        &self,
        request: SignUpRequest<'_>,
        client: &ClientInfo,
    ) -> Result<SignedUp, AuthError> {
        match (self.mail.signup, request.invite) {
            (SignupMode::Closed, _) | (SignupMode::Invite, None) => Err(AuthError::SignupClosed),
            (_, Some(invite)) => {
                let signed_in = self.sign_up_invited(&request, invite, client).await?;
                Ok(SignedUp::SignedIn(Box::new(signed_in)))
            }
            (SignupMode::Open, None) => {
                self.sign_up_open(&request, client).await?;
                Ok(SignedUp::VerificationSent)
            }
        }
    }

    async fn sign_up_open(
        &self,
        request: &SignUpRequest<'_>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let username = Username::parse(request.username)?;
        let email = EmailAddress::parse(request.email.unwrap_or_default())?;
        self.take_login_token(client)?;
        self.limit_mail(client, email.key().as_str()).await?;
        let owner = Owner {
            username: username.as_str(),
            email: Some(email.as_str()),
        };
        self.rules.check(&request.password, owner).await?;
        let phc = self.hasher.hash(request.password.clone()).await?;
        let now = self.now();
        let token = LinkToken::new();
        let verify = Letter {
            link: Some(self.mail.link(routes::VERIFY_EMAIL, "token", &token.token)),
            link_ttl_secs: Some(self.mail.verify_ttl_secs),
            ..self.letter(username.as_str(), now)
        };
        let verify = self.seal_letter(MailKind::VerifyEmail, email.as_str(), &verify)?;
        let user = NewUser {
            username: username.as_str(),
            password_hash: &phc,
            role: Role::User,
            is_demo: false,
            email: Some(email.as_str()),
            email_verified: false,
            now,
        };
        let link = NewLink {
            token_hash: &token.hash,
            id: &token.id,
            purpose: LinkPurpose::VerifyEmail,
            user_id: None,
            email: email.as_str(),
            role: None,
            created_by: None,
            at: now,
            expires_at: now + self.mail.verify_ttl_secs,
        };
        let mail = NewMail {
            kind: MailKind::VerifyEmail,
            recipient: email.as_str(),
            sealed: &verify,
            at: now,
        };
        let event = NewEvent::new(EventKind::SignedUp, username.as_str(), Actor::User, now)
            .by(client)
            .detail("open");
        match self.db.sign_up(user, link, mail, event).await? {
            SignUp::UsernameTaken => Err(AuthError::UsernameTaken),
            SignUp::Created { .. } => {
                self.mail_queued();
                tracing::info!(username = ?username.as_str(), "sign-up accepted");
                Ok(())
            }
            SignUp::AddressInUse { username } => {
                self.tell_address_in_use(&username, &email, client).await
            }
        }
    }

    /// Mails "you already have an account" (with the way to reset its password) to an address
    /// someone tried to use again; recorded as a notice to that account.
    pub(crate) async fn tell_address_in_use(
        &self,
        owner: &str,
        email: &EmailAddress,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let letter = Letter {
            link: Some(format!("{}{}", self.mail.origin, routes::FORGOT_PASSWORD)),
            ..self.letter(owner, now)
        };
        let kind = MailKind::AlreadyRegistered;
        let sealed = self.seal_letter(kind, email.as_str(), &letter)?;
        let mail = NewMail {
            kind,
            recipient: email.as_str(),
            sealed: &sealed,
            at: now,
        };
        let event = NewEvent::new(EventKind::NoticeSent, owner, Actor::User, now)
            .by(client)
            .detail("already_registered");
        self.db.queue_mail(mail, event).await?;
        self.mail_queued();
        Ok(())
    }

    async fn sign_up_invited(
        &self,
        request: &SignUpRequest<'_>,
        invite: &str,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let username = Username::parse(request.username)?;
        let owner = Owner {
            username: username.as_str(),
            email: request.email,
        };
        self.rules.check(&request.password, owner).await?;
        let attempt = self.attempt("", client, Secret::Link, None).await?;
        let now = attempt.now();
        let phc = self.hasher.hash(request.password.clone()).await?;
        let user = NewUser {
            username: username.as_str(),
            password_hash: &phc,
            role: Role::User,
            is_demo: false,
            email: None,
            email_verified: true,
            now,
        };
        let event = NewEvent::new(EventKind::SignedUp, username.as_str(), Actor::User, now)
            .by(client)
            .detail("invitation");
        let hash = crate::auth::email::hash_token(invite);
        let (user_id, role) = match self.db.accept_invitation(&hash, user, event).await? {
            Accepted::Created { user_id, role } => (user_id, role),
            Accepted::UsernameTaken => {
                attempt.not_checked().await?;
                return Err(AuthError::UsernameTaken);
            }
            Accepted::InvalidLink => {
                attempt.failed();
                return Err(AuthError::InvalidLink);
            }
        };
        attempt.succeeded().await?;
        tracing::info!(username = ?username.as_str(), %role, "signed up with an invitation");
        let session_user = SessionUser {
            user_id,
            username: username.as_str().to_owned(),
            role,
            amr: Amr::Password,
            auth_time: now,
        };
        // A brand-new account is at epoch 0, unless an admin acted on it this very moment.
        let issued = self
            .start_session(&session_user, 0, client, now)
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
        let mut signed_in = self.sign_in(session_user, issued, now)?;
        signed_in.device_cookie = self.device_keys.issue(user_id, None);
        Ok(signed_in)
    }

    /// Uses a verification (or new-address) link: the address is now the account's, verified.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<(), AuthError> {
        let attempt = self.attempt("", client, Secret::Link, None).await?;
        let now = attempt.now();
        let event = NewEvent::new(EventKind::EmailVerified, "", Actor::User, now).by(client);
        let hash = crate::auth::email::hash_token(token);
        match self.db.verify_email(&hash, event).await? {
            None => {
                attempt.failed();
                Err(AuthError::InvalidLink)
            }
            Some(verified) => {
                attempt.succeeded().await?;
                tracing::info!(username = ?verified.username, "address verified");
                Ok(())
            }
        }
    }

    /// Sends the verification link again, if `email` belongs to an account that has not
    /// verified it. Answers the same either way; the lookup runs after the answer, so its
    /// timing tells nothing either.
    pub async fn resend_verification(
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
            if let Err(e) = auth.send_verification(&email, &client).await {
                tracing::warn!(error = %e, "a verification mail could not be queued");
            }
        });
        Ok(())
    }

    async fn send_verification(
        &self,
        email: &EmailAddress,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let Some(user) = self.db.find_user_by_email(&email.key()).await? else {
            return Ok(());
        };
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        let address = user
            .email
            .clone()
            .unwrap_or_else(|| email.as_str().to_owned());
        self.send_link(
            LinkMail {
                purpose: LinkPurpose::VerifyEmail,
                kind: MailKind::VerifyEmail,
                page: routes::VERIFY_EMAIL,
                param: "token",
                ttl_secs: self.mail.verify_ttl_secs,
                user_id: Some(user.id),
                username: &user.username,
                address: &address,
                role: None,
                created_by: None,
            },
            NewEvent::new(
                EventKind::VerificationSent,
                &user.username,
                Actor::User,
                self.now(),
            )
            .by(client),
        )
        .await
        .map(|_| ())
    }

    /// Stores a link and queues the mail that carries it, with `event`. Returns the link.
    pub(crate) async fn send_link(
        &self,
        mail: LinkMail<'_>,
        event: NewEvent<'_>,
    ) -> Result<NewLinkSent, AuthError> {
        let now = event.at;
        let token = LinkToken::new();
        let letter = Letter {
            link: Some(self.mail.link(mail.page, mail.param, &token.token)),
            link_ttl_secs: Some(mail.ttl_secs),
            role: mail.role.map(|r| r.as_str().to_owned()),
            ..self.letter(mail.username, now)
        };
        let sealed = self.seal_letter(mail.kind, mail.address, &letter)?;
        let expires_at = now + mail.ttl_secs;
        let link = NewLink {
            token_hash: &token.hash,
            id: &token.id,
            purpose: mail.purpose,
            user_id: mail.user_id,
            email: mail.address,
            role: mail.role,
            created_by: mail.created_by,
            at: now,
            expires_at,
        };
        let queued = NewMail {
            kind: mail.kind,
            recipient: mail.address,
            sealed: &sealed,
            at: now,
        };
        self.db.send_link(link, queued, event).await?;
        self.mail_queued();
        Ok(NewLinkSent {
            id: token.id,
            expires_at,
        })
    }
}

/// A link to mail: what it is for, which page it opens, and to whom it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkMail<'a> {
    pub purpose: LinkPurpose,
    pub kind: MailKind,
    /// The page the link opens, and its query parameter.
    pub page: &'static str,
    pub param: &'static str,
    pub ttl_secs: i64,
    pub user_id: Option<i64>,
    /// The name the mail greets (an invitation: the address).
    pub username: &'a str,
    pub address: &'a str,
    pub role: Option<Role>,
    pub created_by: Option<&'a str>,
}

/// A link that was stored and mailed.
#[derive(Debug, Clone)]
pub struct NewLinkSent {
    pub id: String,
    pub expires_at: i64,
}
