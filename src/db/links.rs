//! Single-use links sent by mail: verification, password reset, invitation, a new address.
//! Only a hash of each token is stored. Every step that uses a link takes it in one `UPDATE …
//! WHERE used_at IS NULL AND expires_at > now`, in the transaction that does what the link is
//! for, so a link works once, even when two requests race with it, and a step that fails
//! leaves it unused.

use super::audit::{record, NewEvent};
use super::engine::{retry, stmt, Backend, Engine, SqlTx};
use super::outbox::{push, NewMail};
use super::sessions::end_sessions;
use super::users::NewUser;
use super::users::{EmailKey, UserRow};
use super::{DbError, UsernameKey};
use crate::model::{RevokeReason, Role};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Proves the address of a new (open sign-up) account.
    VerifyEmail,
    /// Makes a new address the account's.
    ChangeEmail,
    ResetPassword,
    /// Opens one account, with the invitation's address and role.
    Invitation,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
            Self::Invitation => "invitation",
        }
    }
}

/// A link to store (its token's hash only).
#[derive(Clone, Copy)]
pub struct NewLink<'a> {
    pub token_hash: &'a [u8; 32],
    /// The public handle (what an admin sees of an invitation).
    pub id: &'a str,
    pub purpose: LinkPurpose,
    pub user_id: Option<i64>,
    /// Where the link was sent.
    pub email: &'a str,
    /// An invitation's role.
    pub role: Option<Role>,
    /// The administrator who sent an invitation.
    pub created_by: Option<&'a str>,
    pub at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for NewLink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLink")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A pending invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: i64,
    pub created_by: Option<String>,
}

/// The outcome of an open sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUp {
    /// The account exists, unverified; the verification mail is queued.
    Created {
        user_id: i64,
    },
    /// The address has an account (named here, for the "you already have one" mail): none
    /// was opened.
    AddressInUse {
        username: String,
    },
    UsernameTaken,
}

/// An address proven by its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user_id: i64,
    pub username: String,
    /// The address the account had before (when the link made a new address the account's).
    pub previous: Option<String>,
}

/// A password set through a reset link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    pub user_id: i64,
    pub username: String,
    pub email: String,
    /// The sessions it ended (all of the user's).
    pub ended_sessions: Vec<String>,
}

/// The outcome of signing up with an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The account, with the invitation's role.
    Created {
        user_id: i64,
        role: Role,
    },
    UsernameTaken,
    /// Unknown, used or expired (or its address has an account by now).
    InvalidLink,
}

/// Single-use links and the flows they finish.
#[async_trait::async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores a link and queues the mail that carries it, with `event`, together. A link for
    /// a password reset or a new address replaces the user's earlier ones of that purpose.
    async fn send_link(
        &self,
        link: NewLink<'_>,
        mail: NewMail<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError>;

    /// Opens an unverified account and sends its verification link, unless the username is
    /// taken or the address already has an account.
    async fn sign_up(
        &self,
        user: NewUser<'_>,
        link: NewLink<'_>,
        mail: NewMail<'_>,
        event: NewEvent<'_>,
    ) -> Result<SignUp, DbError>;

    /// Uses a verification or new-address link at `now`: the link's address becomes the
    /// account's, verified. `event`'s username is filled in. `None`: no usable link (or its
    /// address belongs to another account by now).
    async fn verify_email(
        &self,
        token_hash: &[u8; 32],
        event: NewEvent<'_>,
    ) -> Result<Option<Verified>, DbError>;

    /// Uses a reset link: the new password hash, every session and challenge of the user
    /// ended, the user's other reset links spent, the address counted as verified (the link
    /// was mailed to it). `event`'s username is filled in.
    async fn reset_password(
        &self,
        token_hash: &[u8; 32],
        password_hash: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Reset>, DbError>;

    /// The account a usable reset link is for. Read-only.
    async fn reset_link_owner(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<UserRow>, DbError>;

    /// Uses an invitation: an account with its address (verified) and role.
    async fn accept_invitation(
        &self,
        token_hash: &[u8; 32],
        user: NewUser<'_>,
        event: NewEvent<'_>,
    ) -> Result<Accepted, DbError>;

    /// Invitations not used and not expired at `now`, newest first.
    async fn pending_invitations(&self, now: i64) -> Result<Vec<InvitationRow>, DbError>;

    /// Withdraws a pending invitation. Returns whether there was one.
    async fn revoke_invitation(&self, id: &str, now: i64) -> Result<bool, DbError>;
}

const INSERT_LINK: &str = "INSERT INTO mail_links
         (token_hash, id, purpose, user_id, email, role, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Earlier links of one purpose stop working when a new one is sent (or used).
const SPEND_OTHERS: &str = "UPDATE mail_links SET used_at = $3
     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";

const USERNAME_TAKEN: &str = "SELECT id FROM users WHERE username_key = $1";
const ADDRESS_OWNER: &str = "SELECT id, username FROM users WHERE email_key = $1";

const INSERT_USER: &str = "INSERT INTO users
         (username, username_key, password_hash, role, is_demo, created_at,
          email, email_key, email_verified_at)
     VALUES ($1, $2, $3, $4, FALSE, $5, $6, $7, $8) RETURNING id";

/// Takes a link of one of two purposes, if it is still usable.
const TAKE: &str = "UPDATE mail_links SET used_at = $2
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
       AND purpose IN ($3, $4)
     RETURNING purpose, user_id, email, role";

const USER_OF: &str = "SELECT username, email, email_key FROM users WHERE id = $1";

const SET_ADDRESS: &str =
    "UPDATE users SET email = $1, email_key = $2, email_verified_at = $3 WHERE id = $4";

const SET_RESET_PASSWORD: &str = "UPDATE users
     SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2)
     WHERE id = $3";

const RESET_OWNER: &str = "SELECT u.id, u.username, u.password_hash, u.role, u.is_demo,
            u.locked_at IS NOT NULL AS locked, u.security_epoch, u.email, u.email_verified_at,
            u.created_at
     FROM mail_links l JOIN users u ON u.id = l.user_id
     WHERE l.token_hash = $1 AND l.purpose = 'reset_password'
       AND l.used_at IS NULL AND l.expires_at > $2";

const PENDING_INVITATIONS: &str =
    "SELECT id, email, role, created_at, expires_at, created_by FROM mail_links
     WHERE purpose = 'invitation' AND used_at IS NULL AND expires_at > $1
     ORDER BY created_at DESC, id LIMIT 500";

const REVOKE_INVITATION: &str = "UPDATE mail_links SET used_at = $2
     WHERE id = $1 AND purpose = 'invitation' AND used_at IS NULL AND expires_at > $2";

/// A link's row as a step takes it.
type Taken = (String, Option<i64>, String, Option<Role>);

impl<E: Engine> Backend<E> {
    async fn insert_link(tx: &mut SqlTx<E::Db>, link: &NewLink<'_>) -> Result<(), DbError> {
        tx.execute(stmt!(
            INSERT_LINK,
            link.token_hash,
            link.id,
            link.purpose.as_str(),
            link.user_id,
            link.email,
            link.role.map(Role::as_str),
            link.created_by,
            link.at,
            link.expires_at,
        ))
        .await?;
        Ok(())
    }

    async fn take(
        tx: &mut SqlTx<E::Db>,
        token_hash: &[u8; 32],
        now: i64,
        purposes: [LinkPurpose; 2],
    ) -> Result<Option<Taken>, DbError> {
        let [a, b] = purposes.map(LinkPurpose::as_str);
        tx.fetch_optional(stmt!(TAKE, token_hash, now, a, b)).await
    }

    async fn sign_up_once(
        &self,
        user: NewUser<'_>,
        link: NewLink<'_>,
        mail: NewMail<'_>,
        event: NewEvent<'_>,
    ) -> Result<SignUp, DbError> {
        let key = UsernameKey::of(user.username);
        let email = user.email.unwrap_or_default();
        let email_key = EmailKey::of(email);
        let mut tx = self.begin().await?;
        let taken: Option<(i64,)> = tx
            .fetch_optional(stmt!(USERNAME_TAKEN, key.as_str()))
            .await?;
        if taken.is_some() {
            return Ok(SignUp::UsernameTaken);
        }
        let owner: Option<(i64, String)> = tx
            .fetch_optional(stmt!(ADDRESS_OWNER, email_key.as_str()))
            .await?;
        if let Some((_, username)) = owner {
            return Ok(SignUp::AddressInUse { username });
        }
        let user_id: i64 = tx
            .scalar(stmt!(
                INSERT_USER,
                user.username,
                key.as_str(),
                user.password_hash,
                user.role,
                user.now,
                email,
                email_key.as_str(),
                None::<i64>,
            ))
            .await?;
        Self::insert_link(
            &mut tx,
            &NewLink {
                user_id: Some(user_id),
                ..link
            },
        )
        .await?;
        push(&mut tx, &mail).await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(SignUp::Created { user_id })
    }

    async fn accept_once(
        &self,
        token_hash: &[u8; 32],
        user: NewUser<'_>,
        event: NewEvent<'_>,
    ) -> Result<Accepted, DbError> {
        let key = UsernameKey::of(user.username);
        let mut tx = self.begin().await?;
        let purposes = [LinkPurpose::Invitation, LinkPurpose::Invitation];
        let Some((_, _, email, role)) = Self::take(&mut tx, token_hash, user.now, purposes).await?
        else {
            return Ok(Accepted::InvalidLink);
        };
        let taken: Option<(i64,)> = tx
            .fetch_optional(stmt!(USERNAME_TAKEN, key.as_str()))
            .await?;
        if taken.is_some() {
            return Ok(Accepted::UsernameTaken);
        }
        let email_key = EmailKey::of(&email);
        let owner: Option<(i64, String)> = tx
            .fetch_optional(stmt!(ADDRESS_OWNER, email_key.as_str()))
            .await?;
        if owner.is_some() {
            return Ok(Accepted::InvalidLink);
        }
        let role = role.unwrap_or(Role::User);
        let user_id: i64 = tx
            .scalar(stmt!(
                INSERT_USER,
                user.username,
                key.as_str(),
                user.password_hash,
                role,
                user.now,
                &email,
                email_key.as_str(),
                Some(user.now),
            ))
            .await?;
        record(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Accepted::Created { user_id, role })
    }

    async fn verify_once(
        &self,
        token_hash: &[u8; 32],
        event: NewEvent<'_>,
    ) -> Result<Option<Verified>, DbError> {
        let now = event.at;
        let mut tx = self.begin().await?;
        let purposes = [LinkPurpose::VerifyEmail, LinkPurpose::ChangeEmail];
        let Some((purpose, Some(user_id), email, _)) =
            Self::take(&mut tx, token_hash, now, purposes).await?
        else {
            return Ok(None);
        };
        let Some((username, current, current_key)) = tx
            .fetch_optional::<(String, Option<String>, Option<String>)>(stmt!(USER_OF, user_id))
            .await?
        else {
            return Ok(None);
        };
        let email_key = EmailKey::of(&email);
        let change = purpose == LinkPurpose::ChangeEmail.as_str();
        // A verification link proves the address the account still has; a new-address link
        // proves an address no other account has taken meanwhile.
        if !change && current_key.as_deref() != Some(email_key.as_str()) {
            return Ok(None);
        }
        let owner: Option<(i64, String)> = tx
            .fetch_optional(stmt!(ADDRESS_OWNER, email_key.as_str()))
            .await?;
        if owner.is_some_and(|(id, _)| id != user_id) {
            return Ok(None);
        }
        tx.execute(stmt!(SET_ADDRESS, &email, email_key.as_str(), now, user_id))
            .await?;
        if change {
            tx.execute(stmt!(
                SPEND_OTHERS,
                user_id,
                LinkPurpose::ChangeEmail.as_str(),
                now
            ))
            .await?;
        }
        record(
            &mut tx,
            &NewEvent {
                username: &username,
                ..event
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Verified {
            user_id,
            username,
            previous: current.filter(|_| change),
        }))
    }

    async fn reset_once(
        &self,
        token_hash: &[u8; 32],
        password_hash: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Reset>, DbError> {
        let now = event.at;
        let mut tx = self.begin().await?;
        let purposes = [LinkPurpose::ResetPassword, LinkPurpose::ResetPassword];
        let Some((_, Some(user_id), email, _)) =
            Self::take(&mut tx, token_hash, now, purposes).await?
        else {
            return Ok(None);
        };
        let Some((username, _, current_key)) = tx
            .fetch_optional::<(String, Option<String>, Option<String>)>(stmt!(USER_OF, user_id))
            .await?
        else {
            return Ok(None);
        };
        // A link mailed to an address the account no longer has is no proof.
        if current_key.as_deref() != Some(EmailKey::of(&email).as_str()) {
            return Ok(None);
        }
        tx.execute(stmt!(SET_RESET_PASSWORD, password_hash, now, user_id))
            .await?;
        let reason = RevokeReason::PasswordReset;
        let ended_sessions = end_sessions(&mut tx, user_id, None, reason, now).await?;
        tx.execute(stmt!(
            SPEND_OTHERS,
            user_id,
            LinkPurpose::ResetPassword.as_str(),
            now
        ))
        .await?;
        record(
            &mut tx,
            &NewEvent {
                username: &username,
                ..event
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Reset {
            user_id,
            username,
            email,
            ended_sessions,
        }))
    }
}

#[async_trait::async_trait]
impl<E: Engine> LinkStore for Backend<E> {
    async fn send_link(
        &self,
        link: NewLink<'_>,
        mail: NewMail<'_>,
        event: NewEvent<'_>,
    ) -> Result<(), DbError> {
        let mut tx = self.begin().await?;
        if let (Some(user_id), LinkPurpose::ResetPassword | LinkPurpose::ChangeEmail) =
            (link.user_id, link.purpose)
        {
            tx.execute(stmt!(SPEND_OTHERS, user_id, link.purpose.as_str(), link.at))
                .await?;
        }
        Self::insert_link(&mut tx, &link).await?;
        push(&mut tx, &mail).await?;
        record(&mut tx, &event).await?;
        tx.commit().await
    }

    async fn sign_up(
        &self,
        user: NewUser<'_>,
        link: NewLink<'_>,
        mail: NewMail<'_>,
        event: NewEvent<'_>,
    ) -> Result<SignUp, DbError> {
        // Two sign-ups racing for one name or address: the loser's insert conflicts, and a
        // second look tells which it was.
        match retry(|| self.sign_up_once(user, link, mail, event)).await {
            Err(DbError::Conflict) => retry(|| self.sign_up_once(user, link, mail, event)).await,
            other => other,
        }
    }

    async fn verify_email(
        &self,
        token_hash: &[u8; 32],
        event: NewEvent<'_>,
    ) -> Result<Option<Verified>, DbError> {
        match retry(|| self.verify_once(token_hash, event)).await {
            Err(DbError::Conflict) => Ok(None),
            other => other,
        }
    }

    async fn reset_password(
        &self,
        token_hash: &[u8; 32],
        password_hash: &str,
        event: NewEvent<'_>,
    ) -> Result<Option<Reset>, DbError> {
        retry(|| self.reset_once(token_hash, password_hash, event)).await
    }

    async fn reset_link_owner(
        &self,
        token_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<UserRow>, DbError> {
        self.fetch_optional(stmt!(RESET_OWNER, token_hash, now))
            .await
    }

    async fn accept_invitation(
        &self,
        token_hash: &[u8; 32],
        user: NewUser<'_>,
        event: NewEvent<'_>,
    ) -> Result<Accepted, DbError> {
        match retry(|| self.accept_once(token_hash, user, event)).await {
            Err(DbError::Conflict) => Ok(Accepted::UsernameTaken),
            other => other,
        }
    }

    async fn pending_invitations(&self, now: i64) -> Result<Vec<InvitationRow>, DbError> {
        self.fetch_all(stmt!(PENDING_INVITATIONS, now)).await
    }

    async fn revoke_invitation(&self, id: &str, now: i64) -> Result<bool, DbError> {
        Ok(self.execute(stmt!(REVOKE_INVITATION, id, now)).await? > 0)
    }
}
