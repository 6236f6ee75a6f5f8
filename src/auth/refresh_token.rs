//! Opaque refresh tokens: `<session id>.<secret>`.
//!
//! A login's secret is 256 bits from a CSPRNG, base64url-encoded (43 characters). Each
//! rotation's child secret is derived from its parent, `base64url(HMAC-SHA256(child key,
//! parent))`: whoever presents the same parent gets the same child, so concurrent and retried
//! refreshes converge on one token instead of forking the session, and nothing reversible is
//! stored. The session id in front lets a refresh find its session by key, and lets an old
//! token be recognised as an ancestor of the live one (by deriving forward from it) although
//! only the live token and its parent are stored: reuse is detected without a row per refresh.
//! Tokens issued before they named their session (a bare secret) are still accepted until
//! their first rotation.
//!
//! The database keeps only a secret's SHA-256: secrets are high-entropy, so an unsalted fast
//! hash is enough to make a leaked table useless.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// The key that derives a child token from its parent.
#[derive(Clone)]
pub struct ChildKey([u8; 32]);

impl ChildKey {
    /// Derives the child key from a signing secret under a label of its own, so the same bytes
    /// never serve two purposes.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(hmac_sha256(secret, b"jwt-auth/refresh-token-child/v1"))
    }

    /// The child of `parent`.
    pub fn child_of(&self, parent: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.0, parent.as_bytes()))
    }
}

/// The child keys of every configured signing key, the active key's first. The child key is
/// derived per signing key and so rotates with it: a rotation derives with the active key,
/// and a concurrent refresh that another instance (still on the previous active key, in the
/// middle of a key rotation) has already rotated is recognised under any configured key.
#[derive(Clone, Debug)]
pub struct ChildKeys {
    active: ChildKey,
    others: Vec<ChildKey>,
}

impl ChildKeys {
    pub fn new(active: ChildKey, others: Vec<ChildKey>) -> Self {
        Self { active, others }
    }

    /// The child a rotation now creates.
    pub fn child_of(&self, parent: &str) -> String {
        self.active.child_of(parent)
    }

    /// Every child `parent` may have been rotated to, the active key's first.
    pub fn candidates<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = String> + 'a {
        self.all().map(move |key| key.child_of(parent))
    }

    /// Whether deriving forward from `ancestor` reaches a secret whose hash is `target` within
    /// `steps` rotations (under any one configured key): `ancestor` is then an older token of
    /// the same chain. At most [`MAX_ANCESTRY`] steps are taken.
    pub fn leads_to(&self, ancestor: &str, target: &[u8], steps: i64) -> bool {
        let steps = steps.clamp(0, MAX_ANCESTRY);
        self.all().any(|key| {
            let mut secret = ancestor.to_owned();
            (0..steps).any(|_| {
                secret = key.child_of(&secret);
                hash(&secret)[..] == *target
            })
        })
    }

    fn all(&self) -> impl Iterator<Item = &ChildKey> {
        std::iter::once(&self.active).chain(&self.others)
    }
}

/// How far back an old token is recognised as one of its session's (each step is one HMAC).
pub const MAX_ANCESTRY: i64 = 1024;

/// A refresh token as presented.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    /// The session it names (`None`: a token from before tokens named their session).
    pub session_id: Option<&'a str>,
    pub secret: &'a str,
}

impl std::fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presented")
            .field("session_id", &self.session_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Reads a cookie's value: `<session id>.<secret>`, or a bare secret of the older form.
/// Anything else is refused before any database work.
pub fn parse(value: &str) -> Option<Presented<'_>> {
    let (session_id, secret) = match value.split_once('.') {
        Some((id, secret)) if id.len() == SESSION_ID_LEN && is_base64url(id) => (Some(id), secret),
        Some(_) => return None,
        None => (None, value),
    };
    (secret.len() == SECRET_LEN && is_base64url(secret)).then_some(Presented { session_id, secret })
}

/// The cookie's value for session `session_id` and `secret`.
pub fn compose(session_id: &str, secret: &str) -> String {
    format!("{session_id}.{secret}")
}

const SECRET_LEN: usize = 43;
const SESSION_ID_LEN: usize = 22;

fn is_base64url(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Debug for ChildKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChildKey([redacted])")
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A new random refresh-token secret.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new random session id (128 bits, base64url: 22 characters).
pub fn new_family_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 stored in place of a secret.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_a_session_id_and_a_256_bit_secret() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        let sid = new_family_id();
        let token = compose(&sid, &a);
        let presented = parse(&token).unwrap();
        assert_eq!(presented.session_id, Some(sid.as_str()));
        assert_eq!(presented.secret, a);
        // The older form: a bare secret.
        assert_eq!(parse(&b).unwrap().session_id, None);
    }

    #[test]
    fn an_ancestor_leads_to_the_live_token_and_a_stranger_does_not() {
        let keys = ChildKeys::new(
            ChildKey::from_secret(b"k"),
            vec![ChildKey::from_secret(b"o")],
        );
        let first = generate();
        let mut live = first.clone();
        for _ in 0..5 {
            live = keys.child_of(&live);
        }
        assert!(keys.leads_to(&first, &hash(&live), 5));
        assert!(!keys.leads_to(&first, &hash(&live), 4));
        assert!(!keys.leads_to(&generate(), &hash(&live), 100));
    }

    #[test]
    fn hash_is_sha256_and_not_the_token() {
        let token = generate();
        let digest = hash(&token);
        assert_eq!(digest.len(), 32);
        assert_eq!(digest, hash(&token));
        assert_ne!(&digest[..], token.as_bytes());
    }

    #[test]
    fn a_child_is_the_same_for_the_same_parent_and_key_only() {
        let key = ChildKey::from_secret(b"secret-a-secret-a-secret-a-secret-a");
        let parent = generate();
        let child = key.child_of(&parent);
        assert!(parse(&child).is_some(), "{child}");
        assert_eq!(child, key.child_of(&parent));
        assert_ne!(child, key.child_of(&generate()));
        let other = ChildKey::from_secret(b"secret-b-secret-b-secret-b-secret-b");
        assert_ne!(child, other.child_of(&parent));
        assert_ne!(child, parent);
    }

    #[test]
    fn only_token_shaped_values_parse() {
        for bad in [
            String::new(),
            "short".to_owned(),
            "a".repeat(44),
            format!("{}=", "a".repeat(42)),
            format!("{}.{}", "a".repeat(21), "b".repeat(43)),
            format!("{}.{}", "a".repeat(22), "b".repeat(42)),
            format!("{}.{}.x", "a".repeat(22), "b".repeat(43)),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
    }
}
