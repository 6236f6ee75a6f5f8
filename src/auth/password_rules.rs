//! The rules every new password follows, wherever it is chosen (sign-up, reset, change, the
//! command line): at least [`MIN_PASSWORD_CHARS`] characters, not the username or the e-mail
//! address, a zxcvbn score of at least `PASSWORD_MIN_SCORE`, and, when `BREACHED_PASSWORDS_FILE`
//! names one, not in a local list of breached passwords.
//!
//! Length first, as NIST SP 800-63B asks, and no composition rules; zxcvbn then refuses what is
//! long but guessable ("passwordpassword", a keyboard walk, the username with a year), and its
//! feedback becomes the refusal's text, so the person knows what to change. The breached list
//! is the Pwned Passwords download (SHA-1 hashes, upper-case hex, sorted, one per line with an
//! optional `:count`), searched in place by binary search over the file: no network, no memory
//! beyond a few hundred bytes per check, about 36 reads for the full 40 GB list.

use crate::auth::AuthError;
use sha1::{Digest, Sha1};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Shortest new password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted, in bytes: argon2 would take any length; this bounds the work a
/// single request can cause.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// zxcvbn's score scale: 0 (too guessable) to 4 (very unguessable).
pub const MAX_SCORE: u8 = 4;
/// The default minimum score: "safely unguessable: moderate protection from offline attacks".
pub const DEFAULT_MIN_SCORE: u8 = 3;

/// What the rules are, from the configuration.
#[derive(Clone)]
pub struct PasswordRules {
    min_score: u8,
    breached: Option<Arc<BreachedList>>,
}

impl std::fmt::Debug for PasswordRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRules")
            .field("min_score", &self.min_score)
            .field("breached", &self.breached.as_ref().map(|b| &b.path))
            .finish()
    }
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            min_score: DEFAULT_MIN_SCORE,
            breached: None,
        }
    }
}

/// Who the password is for: it must not be either.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
}

impl PasswordRules {
    /// Rules with a minimum zxcvbn score (0–4) and, optionally, a breached-password list. The
    /// list is opened now, so a wrong path stops the server at start rather than at a sign-up.
    pub fn new(min_score: u8, breached: Option<&Path>) -> Result<Self, AuthError> {
        let breached = breached
            .map(BreachedList::open)
            .transpose()
            .map_err(|e| AuthError::Crypto(format!("BREACHED_PASSWORDS_FILE: {e}")))?
            .map(Arc::new);
        Ok(Self {
            min_score: min_score.min(MAX_SCORE),
            breached,
        })
    }

    /// Checks a new password for `owner`. The refusal says why, in words a person can act on.
    /// zxcvbn and the file search run off the async runtime.
    pub async fn check(&self, password: &str, owner: Owner<'_>) -> Result<(), AuthError> {
        check_shape(password, owner)?;
        let (password, rules) = (password.to_owned(), self.clone());
        let inputs: Vec<String> = [Some(owner.username), owner.email]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect();
        tokio::task::spawn_blocking(move || rules.check_blocking(&password, &inputs))
            .await
            .map_err(|e| AuthError::Crypto(format!("password check: {e}")))?
    }

    fn check_blocking(&self, password: &str, inputs: &[String]) -> Result<(), AuthError> {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let entropy = zxcvbn::zxcvbn(password, &inputs);
        if u8::from(entropy.score()) < self.min_score {
            let mut why = String::from("This password is too easy to guess.");
            if let Some(feedback) = entropy.feedback() {
                if let Some(warning) = feedback.warning() {
                    why.push_str(&format!(" {warning}"));
                }
                for suggestion in feedback.suggestions() {
                    why.push_str(&format!(" {suggestion}"));
                }
            } else {
                why.push_str(" Add another word or two. Uncommon words are better.");
            }
            return Err(AuthError::WeakPassword(why));
        }
        if let Some(list) = &self.breached {
            let digest: [u8; 20] = Sha1::digest(password.as_bytes()).into();
            let found = list
                .contains(&hex_upper(&digest))
                .map_err(|e| AuthError::Crypto(format!("BREACHED_PASSWORDS_FILE: {e}")))?;
            if found {
                return Err(AuthError::WeakPassword(
                    "This password has appeared in a data breach, so attackers try it first. Please choose another."
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// The rules that need no dictionary: length, and not the username or address.
fn check_shape(password: &str, owner: Owner<'_>) -> Result<(), AuthError> {
    let weak = |why: &str| Err(AuthError::WeakPassword(why.to_owned()));
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return weak("The new password must be at least 12 characters long.");
    }
    if password.len() > MAX_PASSWORD_LEN {
        return weak("The new password must be at most 1024 bytes long.");
    }
    let folded = password.trim().to_lowercase();
    if folded == owner.username.trim().to_lowercase() {
        return weak("The new password must not be the username.");
    }
    if owner.email.is_some_and(|email| {
        let email = email.trim().to_lowercase();
        folded == email || email.split('@').next() == Some(folded.as_str())
    }) {
        return weak("The new password must not be the e-mail address.");
    }
    Ok(())
}

fn hex_upper(bytes: &[u8]) -> [u8; 40] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = [0u8; 40];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

/// A sorted file of SHA-1 hashes, one per line, searched where it lies.
struct BreachedList {
    path: PathBuf,
    file: File,
}

impl BreachedList {
    fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            path: path.to_owned(),
            file: File::open(path)?,
        })
    }

    /// Whether the upper-case hex `target` is one of the lines (case-insensitively). Binary
    /// search over byte offsets: the target's line, if there, starts in `lo..hi`.
    fn contains(&self, target: &[u8; 40]) -> std::io::Result<bool> {
        let (mut lo, mut hi) = (0u64, self.file.metadata()?.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.line_from(mid)? {
                Some((start, key)) if start < hi => match key.cmp(target) {
                    std::cmp::Ordering::Equal => return Ok(true),
                    std::cmp::Ordering::Less => lo = start + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                },
                // No line starts in mid..hi.
                _ => hi = mid,
            }
        }
        Ok(false)
    }

    /// The first line starting at or after `at`: its offset and first 40 bytes, upper-cased.
    fn line_from(&self, at: u64) -> std::io::Result<Option<(u64, [u8; 40])>> {
        let mut start = at;
        if at > 0 {
            // The line starts after the first newline at or after `at - 1`.
            let mut pos = at - 1;
            let mut buf = [0u8; 128];
            loop {
                let n = self.file.read_at(&mut buf, pos)?;
                if n == 0 {
                    return Ok(None);
                }
                if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                    start = pos + i as u64 + 1;
                    break;
                }
                pos += n as u64;
            }
        }
        let mut key = [0u8; 40];
        let mut filled = 0;
        while filled < key.len() {
            let n = self
                .file
                .read_at(&mut key[filled..], start + filled as u64)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(None);
        }
        // A short last line compares by what it has (and never equals a full hash).
        key.iter_mut().skip(filled).for_each(|b| *b = 0);
        key.make_ascii_uppercase();
        Ok(Some((start, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const CAROL: Owner<'static> = Owner {
        username: "carol",
        email: Some("Carol.Smith@example.com"),
    };

    fn check(password: &str) -> Result<(), AuthError> {
        let rules = PasswordRules::default();
        check_shape(password, CAROL)?;
        rules.check_blocking(
            password,
            &["carol".into(), "carol.smith@example.com".into()],
        )
    }

    fn why(result: Result<(), AuthError>) -> String {
        match result {
            Err(AuthError::WeakPassword(why)) => why,
            other => panic!("expected a weak password, got {other:?}"),
        }
    }

    #[test]
    fn length_comes_first_in_characters_not_bytes() {
        assert!(why(check("short")).contains("at least 12"));
        assert!(why(check(&"x".repeat(1025))).contains("at most 1024"));
        assert!(check_shape(&"é".repeat(12), CAROL).is_ok());
    }

    #[test]
    fn the_username_and_the_address_are_refused() {
        let owner = Owner {
            username: "longusername",
            email: Some("mailbox-name@example.com"),
        };
        assert!(why(check_shape("LongUserName", owner)).contains("username"));
        assert!(why(check_shape("MAILBOX-NAME@example.com", owner)).contains("e-mail"));
        assert!(why(check_shape("mailbox-name", owner)).contains("e-mail"));
    }

    #[test]
    fn guessable_passwords_are_refused_with_advice() {
        for weak in [
            "passwordpassword",
            "qwertyuiopasdf",
            "carol12345678",
            "123456789012",
        ] {
            let text = why(check(weak));
            assert!(
                text.starts_with("This password is too easy to guess."),
                "{text}"
            );
            assert!(
                text.len() > "This password is too easy to guess.".len(),
                "{text}"
            );
        }
        for strong in [
            "correct horse battery staple",
            "tangerine orbit velvet 93",
            "a brand new passphrase, really",
        ] {
            assert!(check(strong).is_ok(), "{strong}");
        }
    }

    #[test]
    fn the_minimum_score_is_configurable() {
        let lenient = PasswordRules::new(0, None).unwrap();
        assert!(lenient.check_blocking("passwordpassword", &[]).is_ok());
        let strict = PasswordRules::new(4, None).unwrap();
        assert!(strict.check_blocking("tangerine orbit", &[]).is_err());
    }

    #[test]
    fn the_breached_list_is_searched_in_the_file() {
        let breached = ["correct horse battery staple", "tangerine orbit velvet 93"];
        let mut lines: Vec<String> = (0..2000)
            .map(|i| {
                format!(
                    "{}:{i}",
                    String::from_utf8_lossy(&hex_upper(&Sha1::digest(
                        format!("filler {i}").as_bytes()
                    )))
                )
            })
            .chain(breached.iter().map(|p| {
                let hex = hex_upper(&Sha1::digest(p.as_bytes()));
                format!("{}:12", String::from_utf8_lossy(&hex).to_lowercase())
            }))
            .collect();
        lines.sort_by_key(|l| l.to_uppercase());
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "{}\r\n", lines.join("\r\n")).unwrap();
        let rules = PasswordRules::new(0, Some(file.path())).unwrap();
        for p in breached {
            assert!(
                why(rules.check_blocking(p, &[])).contains("data breach"),
                "{p}"
            );
        }
        assert!(rules
            .check_blocking("never breached at all 42", &[])
            .is_ok());
        // Every line is found wherever it lies (first, last, in between).
        let list = BreachedList::open(file.path()).unwrap();
        for line in &lines {
            let mut key = [0u8; 40];
            key.copy_from_slice(&line.as_bytes()[..40]);
            key.make_ascii_uppercase();
            assert!(list.contains(&key).unwrap(), "{line}");
        }
        assert!(!list.contains(&[b'0'; 40]).unwrap());
        assert!(!list.contains(&[b'F'; 40]).unwrap());
    }

    #[test]
    fn a_missing_list_stops_the_start() {
        assert!(PasswordRules::new(3, Some(Path::new("/nonexistent/pwned.txt"))).is_err());
    }
}
