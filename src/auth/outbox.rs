//! What the core tells people by mail, and the queue it goes through.
//!
//! A mail is a [`Letter`] (who it is for, the link it carries, what happened) queued in the
//! outbox in the transaction of the change it tells about; a worker outside the core (the
//! server's `mail` module) claims it, renders it from its template and delivers it. The letter
//! is stored sealed (XChaCha20-Poly1305 under a key derived from the signing keys, bound to the
//! mail's kind and recipient), because it carries a link's token: a stolen database holds only
//! hashes of tokens and sealed letters. Delivery is retried with backoff
//! ([`retry_delay_secs`], [`MAX_ATTEMPTS`]), then the mail is marked failed for admins to see.
//!
//! Security notices ([`Notice`]) go to the account's verified address only, right after the
//! change they tell about has committed; each is an audit event (`notice_sent`, with the
//! notice's name as its detail).

use crate::auth::secret_box::Sealed;
use crate::auth::{Auth, AuthError};
use crate::db::{Actor, ClaimedMail, NewEvent, NewMail, UserRow};
use crate::model::{ClientInfo, EventKind, MailKind};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Delivery attempts before a mail is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a worker may take to deliver a claimed mail before another may claim it.
pub const LEASE: Duration = Duration::from_secs(300);

/// Seconds before attempt `attempts + 1`: 30 s, doubling, at most an hour (about two hours
/// from the first failure to the last attempt).
pub fn retry_delay_secs(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    (30i64 << doublings).min(3_600)
}

/// A security notice: something changed on the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    PasswordChanged,
    PasswordReset,
    /// Sent to the old address when a new one is asked for.
    EmailChanged,
    MfaEnabled,
    MfaDisabled,
    RecoveryCodeUsed,
    /// A login from a browser with no device cookie of this account.
    NewDevice,
}

impl Notice {
    /// The stored name (the audit event's detail, the template's choice of text).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::NewDevice => "new_device",
        }
    }
}

/// What a mail says, before a template turns it into text.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Letter {
    pub username: String,
    /// The link the mail carries (absolute, from `PUBLIC_ORIGIN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// How long the link works, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_ttl_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// An invitation's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// When it happened (Unix seconds).
    pub at: i64,
    /// From where (address and browser), for notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The site's origin, for links that carry no token.
    pub origin: String,
}

impl std::fmt::Debug for Letter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letter")
            .field("username", &self.username)
            .field("link", &self.link.as_ref().map(|_| "[redacted]"))
            .field("notice", &self.notice)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// A mail claimed for delivery, opened.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub letter: Letter,
    /// Including this one.
    pub attempts: i64,
}

/// How the client looked, for a notice ("from 203.0.113.5, Firefox …").
pub fn describe_client(client: &ClientInfo) -> Option<String> {
    let ip = client.ip_text();
    let agent = client
        .user_agent
        .as_deref()
        .map(|ua| ua.chars().take(120).collect::<String>());
    match (ip, agent) {
        (None, None) => None,
        (Some(ip), None) => Some(ip),
        (None, Some(agent)) => Some(agent),
        (Some(ip), Some(agent)) => Some(format!("{ip}, {agent}")),
    }
}

fn context(kind: MailKind, recipient: &str) -> Vec<u8> {
    format!("jwt-auth/mail/{}/{recipient}", kind.as_str()).into_bytes()
}

impl Auth {
    /// Seals a letter for the outbox: `key id`, a newline, the sealed blob.
    pub(crate) fn seal_letter(
        &self,
        kind: MailKind,
        recipient: &str,
        letter: &Letter,
    ) -> Result<Vec<u8>, AuthError> {
        let plain = serde_json::to_vec(letter)
            .map_err(|e| AuthError::Crypto(format!("encoding a letter: {e}")))?;
        let sealed = self
            .secret_box
            .seal(&plain, &context(kind, recipient))
            .ok_or_else(|| AuthError::Crypto("sealing a letter failed".into()))?;
        let mut stored = sealed.key_id.into_bytes();
        stored.push(b'\n');
        stored.extend_from_slice(&sealed.blob);
        Ok(stored)
    }

    fn open_letter(&self, kind: MailKind, recipient: &str, stored: &[u8]) -> Option<Letter> {
        let split = stored.iter().position(|&b| b == b'\n')?;
        let sealed = Sealed {
            key_id: String::from_utf8(stored[..split].to_vec()).ok()?,
            blob: stored[split + 1..].to_vec(),
        };
        let plain = self.secret_box.open(&sealed, &context(kind, recipient))?;
        serde_json::from_slice(&plain).ok()
    }

    /// A letter to `username` at `now`, with this site's origin.
    pub(crate) fn letter(&self, username: &str, now: i64) -> Letter {
        Letter {
            username: username.to_owned(),
            at: now,
            origin: self.mail.origin.clone(),
            ..Letter::default()
        }
    }

    /// Wakes the delivery worker (mail was queued).
    pub(crate) fn mail_queued(&self) {
        self.mail_wakeup.notify_one();
    }

    /// What the delivery worker waits on besides its timer.
    pub fn mail_wakeup(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.mail_wakeup.clone()
    }

    /// Mails a security notice to `user`'s verified address (none: nothing to do), with its
    /// audit event. A notice that cannot be queued is logged, never the caller's failure: the
    /// change it tells about has happened.
    pub(crate) async fn notify(&self, user: &UserRow, notice: Notice, client: Option<&ClientInfo>) {
        if !self.mail.enabled {
            return;
        }
        let Some(address) = user.verified_email() else {
            return;
        };
        let now = self.now();
        let letter = Letter {
            notice: Some(notice),
            client: client.and_then(describe_client),
            ..self.letter(&user.username, now)
        };
        let queued = async {
            let sealed = self.seal_letter(MailKind::Notice, address, &letter)?;
            let mail = NewMail {
                kind: MailKind::Notice,
                recipient: address,
                sealed: &sealed,
                at: now,
            };
            let event = NewEvent::new(EventKind::NoticeSent, &user.username, Actor::User, now)
                .detail(notice.as_str());
            let event = match client {
                Some(client) => event.by(client),
                None => event,
            };
            self.db.queue_mail(mail, event).await?;
            Ok::<_, AuthError>(())
        };
        match queued.await {
            Ok(()) => self.mail_queued(),
            Err(e) => {
                tracing::warn!(error = %e, notice = notice.as_str(), "a security notice could not be queued")
            }
        }
    }

    /// [`Auth::notify`] for the account with this id.
    pub(crate) async fn notify_user(
        &self,
        user_id: i64,
        notice: Notice,
        client: Option<&ClientInfo>,
    ) {
        if !self.mail.enabled {
            return;
        }
        match self.db.find_user_by_id(user_id).await {
            Ok(Some(user)) => self.notify(&user, notice, client).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "a security notice could not be queued"),
        }
    }

    /// Claims up to `limit` due mails for delivery and opens them. A mail that cannot be
    /// opened (its key is no longer configured) is marked failed at once.
    pub async fn claim_mail(&self, limit: u32) -> Result<Vec<OutgoingMail>, AuthError> {
        let now = self.now();
        let lease_until = now + i64::try_from(LEASE.as_secs()).unwrap_or(300);
        let claimed = self.db.claim_mail(now, lease_until, limit).await?;
        let mut out = Vec::with_capacity(claimed.len());
        for ClaimedMail {
            id,
            kind,
            recipient,
            sealed,
            attempts,
        } in claimed
        {
            let opened = MailKind::parse(&kind).and_then(|kind| {
                let letter = self.open_letter(kind, &recipient, sealed.as_deref()?)?;
                Some((kind, letter))
            });
            match opened {
                Some((kind, letter)) => out.push(OutgoingMail {
                    id,
                    kind,
                    recipient,
                    letter,
                    attempts,
                }),
                None => {
                    self.db
                        .mail_failed(id, "cannot be opened with the configured keys", None)
                        .await?
                }
            }
        }
        Ok(out)
    }

    /// The mail server accepted `mail`.
    pub async fn mail_delivered(&self, mail: &OutgoingMail) -> Result<(), AuthError> {
        Ok(self.db.mail_sent(mail.id, self.now()).await?)
    }

    /// The mail server refused `mail` for good: marked failed at once.
    pub async fn mail_refused(&self, mail: &OutgoingMail, error: &str) -> Result<(), AuthError> {
        Ok(self.db.mail_failed(mail.id, error, None).await?)
    }

    /// Delivering `mail` failed with `error` (no secret in it): tried again later, or marked
    /// failed after [`MAX_ATTEMPTS`]. Returns when it will be tried again.
    pub async fn mail_not_delivered(
        &self,
        mail: &OutgoingMail,
        error: &str,
    ) -> Result<Option<i64>, AuthError> {
        let retry_at =
            (mail.attempts < MAX_ATTEMPTS).then(|| self.now() + retry_delay_secs(mail.attempts));
        self.db.mail_failed(mail.id, error, retry_at).await?;
        Ok(retry_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let delays: Vec<i64> = (1..=MAX_ATTEMPTS).map(retry_delay_secs).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600]);
        assert_eq!(retry_delay_secs(0), 30);
        assert_eq!(retry_delay_secs(100), 3600);
    }

    #[test]
    fn a_letter_never_shows_its_link_in_debug() {
        let letter = Letter {
            username: "carol".into(),
            link: Some("https://example.com/reset-password?token=s3cr3t".into()),
            ..Letter::default()
        };
        assert!(!format!("{letter:?}").contains("s3cr3t"));
    }
}
