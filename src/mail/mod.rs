//! Delivering the outbox (server only): the worker that claims queued mails from the security
//! core, renders them from their templates ([`templates`]) and hands them to the transport:
//! a real SMTP server (`SMTP_URL`, through lettre with rustls: STARTTLS when the server offers
//! it, `smtps://` for TLS from the first byte), or, in development without `SMTP_URL`, a folder
//! of `.eml` files (`DATA_DIR/outbox/`) whose log line names the file and the link in it.
//!
//! Requests never wait for SMTP: they queue a row and wake the worker. A mail server that is
//! down only delays mail: each failure is retried with backoff (`auth::outbox`), a permanent
//! refusal (5xx) is marked failed at once for admins to see.

pub mod templates;

use crate::auth::outbox::OutgoingMail;
use crate::auth::Auth;
use crate::server::config::mail::{MailConfig, MailTransport};
use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Mails claimed at once.
const BATCH: u32 = 16;
/// How often the worker looks for due mail besides being woken (retries, other instances).
const POLL: Duration = Duration::from_secs(1);
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// The transport and the sender.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

/// Why a mail was not delivered.
#[derive(Debug)]
pub enum Undelivered {
    /// Worth another try (the server is down, a 4xx).
    Transient(String),
    /// Never going to work (a 5xx, an address lettre cannot write).
    Permanent(String),
}

impl Mailer {
    /// The mailer `config` asks for (`None`: mail is off).
    pub fn new(config: &MailConfig) -> anyhow::Result<Option<Self>> {
        let from: Mailbox = config
            .from
            .parse()
            .with_context(|| format!("MAIL_FROM is not an address: {:?}", config.from))?;
        let transport = match &config.transport {
            MailTransport::Off => return Ok(None),
            MailTransport::Folder(dir) => {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the outbox folder {}", dir.display())
                })?;
                Transport::Folder(dir.clone())
            }
            MailTransport::Smtp(url) => {
                let mut url = url.expose().to_owned();
                // `smtp://` means STARTTLS when the server offers it (lettre's default for a
                // URL without `tls=` would be plain text only).
                if !url.starts_with("smtps://") && !url.contains("tls=") {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str("tls=opportunistic");
                }
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .context("SMTP_URL")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Transport::Smtp(transport)
            }
        };
        Ok(Some(Self { transport, from }))
    }

    /// Renders and sends one mail.
    pub async fn deliver(&self, mail: &OutgoingMail) -> Result<(), Undelivered> {
        let rendered = templates::render(mail.kind, &mail.letter);
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| Undelivered::Permanent(format!("recipient address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| Undelivered::Permanent(format!("building the message: {e}")))?;
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(Undelivered::Permanent(smtp_error(&e))),
                Err(e) => Err(Undelivered::Transient(smtp_error(&e))),
            },
            Transport::Folder(dir) => {
                let name = format!("{:06}-{}.eml", mail.id, mail.kind.as_str());
                let (path, partial) = (dir.join(&name), dir.join(format!(".{name}.partial")));
                let bytes = message.formatted();
                let written = async {
                    tokio::fs::write(&partial, &bytes).await?;
                    tokio::fs::rename(&partial, &path).await
                };
                written.await.map_err(|e| {
                    Undelivered::Transient(format!("writing {}: {e}", path.display()))
                })?;
                // Development only: the point of the folder is to follow the link by hand.
                tracing::info!(
                    file = %path.display(),
                    link = mail.letter.link.as_deref().unwrap_or("-"),
                    "mail written to the outbox folder"
                );
                Ok(())
            }
        }
    }
}

/// An SMTP failure for the log and the admin page: the server's words, never the message.
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    text.chars().take(300).collect()
}

/// Delivers the outbox for as long as the server runs.
pub async fn run(auth: Arc<Auth>, mailer: Mailer) {
    let wakeup = auth.mail_wakeup();
    loop {
        let more = match deliver_due(&auth, &mailer).await {
            Ok(claimed) => claimed == BATCH as usize,
            Err(e) => {
                tracing::warn!(error = %e, "the mail outbox could not be read");
                false
            }
        };
        if !more {
            tokio::select! {
                () = wakeup.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// Claims and delivers one batch; returns how many were claimed.
async fn deliver_due(auth: &Auth, mailer: &Mailer) -> Result<usize, crate::auth::AuthError> {
    let due = auth.claim_mail(BATCH).await?;
    for mail in &due {
        match mailer.deliver(mail).await {
            Ok(()) => {
                auth.mail_delivered(mail).await?;
                tracing::info!(id = mail.id, kind = mail.kind.as_str(), "mail delivered");
            }
            Err(Undelivered::Permanent(error)) => {
                auth.mail_refused(mail, &error).await?;
                tracing::warn!(id = mail.id, kind = mail.kind.as_str(), %error, "mail refused for good");
            }
            Err(Undelivered::Transient(error)) => {
                let retry_at = auth.mail_not_delivered(mail, &error).await?;
                tracing::warn!(
                    id = mail.id,
                    kind = mail.kind.as_str(),
                    attempts = mail.attempts,
                    ?retry_at,
                    %error,
                    "mail not delivered"
                );
            }
        }
    }
    Ok(due.len())
}
