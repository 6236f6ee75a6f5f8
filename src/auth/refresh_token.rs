//! Opaque refresh tokens.
//!
//! A login's token is 256 bits from a CSPRNG, base64url-encoded (43 characters). Each rotation's
//! child is derived from its parent, `base64url(HMAC-SHA256(child key, parent))`: whoever
//! presents the same parent gets the same child, so concurrent and retried refreshes converge
//! on one token instead of forking the session, and nothing reversible is stored.
//!
//! The database keeps only a token's SHA-256: tokens are high-entropy, so an unsalted fast hash
//! is enough to make a leaked table useless, and lookups stay an index probe on a value the
//! caller cannot steer.

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
        std::iter::once(&self.active)
            .chain(&self.others)
            .map(move |key| key.child_of(parent))
    }
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

/// A new random refresh token.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new random session-family id (128 bits, base64url).
pub fn new_family_id() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 stored in place of the token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `value` has the shape of one of our tokens; anything else is refused before any
/// database work.
pub fn is_well_formed(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url_and_unique() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(is_well_formed(&a), "{a}");
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
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
        assert!(is_well_formed(&child), "{child}");
        assert_eq!(child, key.child_of(&parent));
        assert_ne!(child, key.child_of(&generate()));
        let other = ChildKey::from_secret(b"secret-b-secret-b-secret-b-secret-b");
        assert_ne!(child, other.child_of(&parent));
        assert_ne!(child, parent);
    }

    #[test]
    fn only_token_shaped_values_are_well_formed() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"a".repeat(44)));
        assert!(!is_well_formed(&format!("{}=", "a".repeat(42))));
    }
}
