//! Mail and self-service accounts: `SMTP_URL`, `MAIL_FROM`, `SIGNUP_MODE`, the link lifetimes,
//! and the password rules.

use super::env::Env;
use super::{Mode, MAX_SECS};
use crate::auth::password_rules::{DEFAULT_MIN_SCORE, MAX_SCORE};
use crate::model::SignupMode;
use crate::server::net::PublicOrigin;
use anyhow::{bail, Context};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where mail goes.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// A real SMTP server (`SMTP_URL`).
    Smtp(SmtpUrl),
    /// Development without `SMTP_URL`: each mail is an `.eml` file in this folder.
    Folder(PathBuf),
    /// Production without `SMTP_URL`: no mail, so no flow that needs it.
    Off,
}

impl fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Smtp(url) => f.debug_tuple("Smtp").field(url).finish(),
            Self::Folder(dir) => f.debug_tuple("Folder").field(dir).finish(),
            Self::Off => f.write_str("Off"),
        }
    }
}

/// `SMTP_URL`: `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it) or
/// `smtps://…` (TLS from the first byte). Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(String);

impl SmtpUrl {
    pub fn parse(raw: &str) -> Option<Self> {
        let (scheme, rest) = raw.split_once("://")?;
        if !matches!(scheme, "smtp" | "smtps") {
            return None;
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host_port.starts_with('[') => {
                port.parse::<u16>().ok()?;
                host
            }
            _ => host_port,
        };
        if host.is_empty() || host.contains(' ') {
            return None;
        }
        Some(Self(raw.to_owned()))
    }

    /// The URL as the transport reads it (with its credentials).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_implicit_tls(&self) -> bool {
        self.0.starts_with("smtps://")
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", super::redact_database_url(&self.0))
    }
}

/// How mail is sent, and from whom.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// `MAIL_FROM`: the `From:` of every mail.
    pub from: String,
}

impl MailConfig {
    pub fn enabled(&self) -> bool {
        self.transport != MailTransport::Off
    }
}

/// Self-service accounts.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    pub signup: SignupMode,
    pub verify_ttl_secs: i64,
    pub reset_ttl_secs: i64,
    pub invite_ttl_secs: i64,
    /// `PASSWORD_MIN_SCORE`: the lowest zxcvbn score (0–4) a new password may have.
    pub password_min_score: u8,
    /// `BREACHED_PASSWORDS_FILE`: sorted SHA-1 hashes of breached passwords, searched locally.
    pub breached_passwords: Option<PathBuf>,
}

pub(super) fn mail<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    mode: Mode,
    origin: &PublicOrigin,
    data_dir: Option<&Path>,
) -> anyhow::Result<MailConfig> {
    let expected = "smtp://[user:password@]host[:port] or smtps://…";
    let transport = match env.parsed("SMTP_URL", expected, SmtpUrl::parse)? {
        Some(url) => MailTransport::Smtp(url),
        None if mode == Mode::Development => {
            MailTransport::Folder(data_dir.unwrap_or(Path::new("data")).join("outbox"))
        }
        None => MailTransport::Off,
    };
    let from = match env.text("MAIL_FROM") {
        Some(from) => from,
        None => format!("jwt-auth <no-reply@{}>", default_mail_host(origin)),
    };
    if !from.contains('@') {
        bail!(
            "MAIL_FROM must be an address, e.g. \"jwt-auth <no-reply@example.com>\", not {from:?}"
        );
    }
    Ok(MailConfig { transport, from })
}

/// The host of `PUBLIC_ORIGIN`, or `localhost` when that is an IP address (no mailbox lives
/// at an address literal).
fn default_mail_host(origin: &PublicOrigin) -> &str {
    if origin.host_is_ip() {
        "localhost"
    } else {
        origin.host()
    }
}

pub(super) fn accounts<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    mode: Mode,
    mail: &MailConfig,
) -> anyhow::Result<AccountsConfig> {
    let signup = env
        .parsed("SIGNUP_MODE", "closed, invite or open", SignupMode::parse)?
        .unwrap_or_default();
    if mode == Mode::Production && signup != SignupMode::Closed && !mail.enabled() {
        bail!(
            "SIGNUP_MODE={} needs mail: set SMTP_URL (e.g. smtp://user:password@mail.example.com:587)",
            signup.as_str()
        );
    }
    let (password_min_score, breached_passwords) = password_rules(env)?;
    Ok(AccountsConfig {
        signup,
        verify_ttl_secs: env.secs("EMAIL_VERIFY_TTL_SECS", 86_400, 60..=MAX_SECS)?,
        reset_ttl_secs: env.secs("PASSWORD_RESET_TTL_SECS", 1_800, 60..=MAX_SECS)?,
        invite_ttl_secs: env.secs("INVITE_TTL_SECS", 604_800, 60..=MAX_SECS)?,
        password_min_score,
        breached_passwords,
    })
}

/// `PASSWORD_MIN_SCORE` and `BREACHED_PASSWORDS_FILE`.
pub(super) fn password_rules<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> anyhow::Result<(u8, Option<PathBuf>)> {
    let min_score = env.count(
        "PASSWORD_MIN_SCORE",
        u64::from(DEFAULT_MIN_SCORE),
        0..=u64::from(MAX_SCORE),
    )?;
    let breached = env.text("BREACHED_PASSWORDS_FILE").map(PathBuf::from);
    if let Some(path) = &breached {
        std::fs::metadata(path).with_context(|| {
            format!("BREACHED_PASSWORDS_FILE {} cannot be read", path.display())
        })?;
    }
    Ok((
        u8::try_from(min_score).unwrap_or(DEFAULT_MIN_SCORE),
        breached,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_need_a_scheme_and_a_host_and_hide_their_password() {
        for good in [
            "smtp://localhost:2525",
            "smtp://mail.example.com",
            "smtps://user:p%40ss@mail.example.com:465",
            "smtp://[::1]:25",
        ] {
            assert!(SmtpUrl::parse(good).is_some(), "{good}");
        }
        for bad in [
            "http://mail.example.com",
            "mail.example.com:25",
            "smtp://",
            "smtp://host:port",
        ] {
            assert!(SmtpUrl::parse(bad).is_none(), "{bad}");
        }
        let url = SmtpUrl::parse("smtp://carol:hunter2@mail.example.com:587").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.expose().contains("hunter2"));
    }

    #[test]
    fn mail_comes_from_the_public_host_or_localhost() {
        let host = |o: &str| default_mail_host(&PublicOrigin::parse(o).unwrap()).to_owned();
        assert_eq!(host("https://auth.example.com"), "auth.example.com");
        assert_eq!(host("http://127.0.0.1:3000"), "localhost");
        assert_eq!(host("http://localhost:3000"), "localhost");
    }
}
