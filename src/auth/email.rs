//! E-mail addresses as accounts hold them, and the policy of the flows that mail links
//! (sign-up, verification, reset, invitations): which are on, how long a link lives, and the
//! origin links point to.

use crate::auth::AuthError;
use crate::db::EmailKey;
use crate::model::SignupMode;
use std::fmt;

/// Longest address accepted (RFC 5321's path limit, less the brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// An address that looks deliverable: `local@domain`, no spaces or control characters, a
/// domain with a dot. What it is compared by is its [`EmailAddress::key`] (trimmed, lower case),
/// so `Carol@Example.com` and `carol@example.com` are one address; the value keeps the form it
/// was typed in, for the `To:` line.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let bad = |why| Err(AuthError::InvalidEmail(why));
        let address = raw.trim();
        if address.is_empty() {
            return bad("Enter an e-mail address.");
        }
        if address.len() > MAX_EMAIL_LEN {
            return bad("That e-mail address is too long.");
        }
        let Some((local, domain)) = address.rsplit_once('@') else {
            return bad("That is not an e-mail address: it needs an @.");
        };
        let plain =
            |c: char| !c.is_whitespace() && !c.is_control() && !"\"(),:;<>@[\\]".contains(c);
        if local.is_empty()
            || local.len() > 64
            || !local.chars().all(plain)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return bad("That e-mail address is not valid.");
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !domain.contains('.') || !domain.split('.').all(label_ok) {
            return bad("That e-mail address is not valid: check the part after the @.");
        }
        Ok(Self(address.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form addresses are compared and stored as unique in.
    pub fn key(&self) -> EmailKey {
        EmailKey::of(&self.0)
    }
}

/// Addresses are personal data: a log line shows the domain only.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "EmailAddress(…@{domain})")
    }
}

/// The mail flows, from the configuration.
#[derive(Debug, Clone)]
pub struct MailPolicy {
    /// Whether mail can be sent at all (SMTP, or the development outbox folder). Without it,
    /// password reset is not offered.
    pub enabled: bool,
    pub signup: SignupMode,
    /// How long a verification link works (`EMAIL_VERIFY_TTL_SECS`).
    pub verify_ttl_secs: i64,
    /// How long a reset link works (`PASSWORD_RESET_TTL_SECS`).
    pub reset_ttl_secs: i64,
    /// How long an invitation works (`INVITE_TTL_SECS`).
    pub invite_ttl_secs: i64,
    /// `PUBLIC_ORIGIN`: every link in a mail starts with it.
    pub origin: String,
}

impl Default for MailPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            signup: SignupMode::Closed,
            verify_ttl_secs: 86_400,
            reset_ttl_secs: 1_800,
            invite_ttl_secs: 604_800,
            origin: "http://localhost:3000".into(),
        }
    }
}

impl MailPolicy {
    /// An absolute link to a page of this site with a token.
    pub fn link(&self, path: &str, param: &str, token: &str) -> String {
        format!(
            "{}{path}?{param}={token}",
            self.origin.trim_end_matches('/')
        )
    }
}

/// A new mail link's token: 256 random bits, base64url. Only its hash is stored; `id` is the
/// link's public handle.
pub(crate) struct LinkToken {
    pub token: String,
    pub hash: [u8; 32],
    pub id: String,
}

impl LinkToken {
    pub fn new() -> Self {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let mut id = [0u8; 12];
        rand::fill(&mut id);
        let token = URL_SAFE_NO_PAD.encode(secret);
        Self {
            hash: hash_token(&token),
            token,
            id: URL_SAFE_NO_PAD.encode(id),
        }
    }
}

/// The stored hash of a link's token (SHA-256: the token is random, so no salt or stretching
/// is needed, and a lookup is one index probe).
pub(crate) fn hash_token(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.trim().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_compared_in_lower_case() {
        let a = EmailAddress::parse("  Carol.Smith+jwt@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "Carol.Smith+jwt@Example.COM");
        assert_eq!(a.key().as_str(), "carol.smith+jwt@example.com");
        assert!(EmailAddress::parse("δοκιμή@παράδειγμα.δοκιμή").is_ok());
        for bad in [
            "",
            "carol",
            "carol@",
            "@example.com",
            "carol@example",
            "ca rol@example.com",
            "carol@exa mple.com",
            "carol@-example.com",
            "carol@example..com",
            ".carol@example.com",
            "ca..rol@example.com",
            "carol@exam\nple.com",
            "carol\u{0}@example.com",
            "<carol@example.com>",
            "carol@example.com, eve@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn debug_shows_the_domain_only() {
        let a = EmailAddress::parse("carol@example.com").unwrap();
        assert_eq!(format!("{a:?}"), "EmailAddress(…@example.com)");
    }

    #[test]
    fn links_are_absolute() {
        let policy = MailPolicy {
            origin: "https://auth.example.com/".into(),
            ..MailPolicy::default()
        };
        assert_eq!(
            policy.link("/verify-email", "token", "abc"),
            "https://auth.example.com/verify-email?token=abc"
        );
    }
}
