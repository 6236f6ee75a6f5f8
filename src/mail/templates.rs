//! Mail bodies from the templates in `templates/mail/` (compiled in): for each kind a plain-text
//! file whose first line is `Subject: …`, and an HTML fragment set into `layout.html`. Values
//! are put in for `{{name}}`, HTML-escaped in the HTML part.

use crate::auth::outbox::{Letter, Notice};
use crate::model::MailKind;

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const LAYOUT: &str = include_str!("../../templates/mail/layout.html");

/// The (text, HTML) templates of a kind.
fn templates(kind: MailKind) -> (&'static str, &'static str) {
    macro_rules! pair {
        ($name:literal) => {
            (
                include_str!(concat!("../../templates/mail/", $name, ".txt")),
                include_str!(concat!("../../templates/mail/", $name, ".html")),
            )
        };
    }
    match kind {
        MailKind::VerifyEmail => pair!("verify_email"),
        MailKind::ChangeEmail => pair!("change_email"),
        MailKind::AlreadyRegistered => pair!("already_registered"),
        MailKind::ResetPassword => pair!("reset_password"),
        MailKind::Invitation => pair!("invitation"),
        MailKind::Notice => pair!("notice"),
    }
}

/// A notice's subject and its one sentence.
fn notice_text(notice: Notice) -> (&'static str, &'static str) {
    match notice {
        Notice::PasswordChanged => (
            "Your password was changed",
            "The password of your account was changed. Your other devices were logged out.",
        ),
        Notice::PasswordReset => (
            "Your password was reset",
            "The password of your account was set through a reset link. Every device was logged out.",
        ),
        Notice::EmailChanged => (
            "A new e-mail address was asked for",
            "Someone logged in to your account asked to use a new e-mail address. It replaces this one once the link sent to it is opened.",
        ),
        Notice::MfaEnabled => (
            "Two-factor authentication was turned on",
            "Logging in to your account now asks for a code from an authenticator app.",
        ),
        Notice::MfaDisabled => (
            "Two-factor authentication was turned off",
            "Logging in to your account no longer asks for a code: a password alone is enough now.",
        ),
        Notice::RecoveryCodeUsed => (
            "A recovery code was used",
            "One of your recovery codes was used to log in. It will not work again; the others still do.",
        ),
        Notice::NewDevice => (
            "New sign-in to your account",
            "Your account was logged in to from a browser or device it had not been used from before.",
        ),
    }
}

/// Renders `letter` as a mail of `kind`.
pub fn render(kind: MailKind, letter: &Letter) -> Rendered {
    let (text, html) = templates(kind);
    let values = values(letter);
    let text = fill(text, &values, false);
    let (subject, body) = match text.split_once('\n') {
        Some((first, rest)) => (
            first
                .strip_prefix("Subject:")
                .unwrap_or(first)
                .trim()
                .to_owned(),
            rest.trim_start_matches('\n').to_owned(),
        ),
        None => (String::new(), text),
    };
    let fragment = fill(html, &values, true);
    let mut page = values.clone();
    page.push(("subject", subject.clone()));
    page.push(("body", String::new()));
    // The fragment is already escaped: put it in as it is.
    let html = fill(LAYOUT, &page, true).replace("{{body}}", &fragment);
    Rendered {
        subject,
        text: body,
        html,
    }
}

fn values(letter: &Letter) -> Vec<(&'static str, String)> {
    let (headline, detail) = letter.notice.map(notice_text).unwrap_or_default();
    let site = letter
        .origin
        .split_once("://")
        .map_or(letter.origin.as_str(), |(_, host)| host)
        .to_owned();
    vec![
        ("username", letter.username.clone()),
        ("link", letter.link.clone().unwrap_or_default()),
        (
            "expires",
            letter.link_ttl_secs.map(in_words).unwrap_or_default(),
        ),
        ("role", letter.role.clone().unwrap_or_default()),
        ("when", utc(letter.at)),
        (
            "client",
            letter.client.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("headline", headline.to_owned()),
        ("detail", detail.to_owned()),
        ("origin", letter.origin.trim_end_matches('/').to_owned()),
        ("site", site),
    ]
}

/// `template` with every `{{name}}` of `values` put in (`{{body}}` is left for the layout).
fn fill(template: &str, values: &[(&'static str, String)], html: bool) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        if *name == "body" {
            continue;
        }
        let value = if html { escape(value) } else { value.clone() };
        out = out.replace(&format!("{{{{{name}}}}}"), &value);
    }
    out
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "in 30 minutes", "in 24 hours", "in 7 days".
fn in_words(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("in {n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs % 86_400 == 0 && secs >= 172_800 {
        plural(secs / 86_400, "day")
    } else if secs % 3_600 == 0 {
        plural(secs / 3_600, "hour")
    } else {
        plural((secs + 59) / 60, "minute")
    }
}

/// `2026-12-02 15:04 UTC`.
fn utc(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            username: "carol <b>".into(),
            link: Some("https://auth.example.com/reset-password?token=abc&x=1".into()),
            link_ttl_secs: Some(1_800),
            at: 1_796_223_840,
            origin: "https://auth.example.com".into(),
            ..Letter::default()
        }
    }

    #[test]
    fn every_kind_has_a_subject_and_both_bodies_with_no_placeholder_left() {
        for kind in MailKind::ALL {
            let mut letter = letter();
            letter.notice = Some(Notice::PasswordChanged);
            letter.role = Some("user".into());
            let mail = render(kind, &letter);
            assert!(!mail.subject.is_empty(), "{kind:?}");
            assert!(!mail.subject.contains("{{"), "{kind:?}");
            assert!(
                !mail.text.contains("{{") && !mail.html.contains("{{"),
                "{kind:?}"
            );
            assert!(mail.html.starts_with("<!DOCTYPE html>"), "{kind:?}");
        }
    }

    #[test]
    fn links_are_absolute_and_values_escaped_in_html_only() {
        let mail = render(MailKind::ResetPassword, &letter());
        assert_eq!(mail.subject, "Reset your password for auth.example.com");
        assert!(mail
            .text
            .contains("https://auth.example.com/reset-password?token=abc&x=1"));
        assert!(mail.text.contains("carol <b>"));
        assert!(mail.text.contains("expires in 30 minutes"));
        assert!(mail.html.contains("token=abc&amp;x=1"));
        assert!(mail.html.contains("carol &lt;b&gt;"));
        assert!(!mail.html.contains("<b>"));
    }

    #[test]
    fn notices_say_what_happened_when_and_from_where() {
        let mut letter = letter();
        letter.notice = Some(Notice::NewDevice);
        letter.client = Some("203.0.113.5, Firefox".into());
        let mail = render(MailKind::Notice, &letter);
        assert_eq!(mail.subject, "New sign-in to your account");
        assert!(mail.text.contains("203.0.113.5, Firefox"));
        assert!(mail.text.contains("2026-12-02 "));
    }

    #[test]
    fn times_and_durations_read_as_words() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_223_840), "2026-12-02 15:04 UTC");
        assert_eq!(in_words(1_800), "in 30 minutes");
        assert_eq!(in_words(86_400), "in 24 hours");
        assert_eq!(in_words(604_800), "in 7 days");
        assert_eq!(in_words(3_600), "in 1 hour");
    }
}
