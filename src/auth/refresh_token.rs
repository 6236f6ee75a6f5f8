//! Opaque refresh tokens.
//!
//! A token is 256 bits from a CSPRNG, base64url-encoded (43 characters). The database keeps only
//! its SHA-256: tokens are high-entropy, so an unsalted fast hash is enough to make a leaked
//! table useless, and lookups stay an index probe on a value the caller cannot steer.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

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
    fn only_token_shaped_values_are_well_formed() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"a".repeat(44)));
        assert!(!is_well_formed(&format!("{}=", "a".repeat(42))));
    }
}
