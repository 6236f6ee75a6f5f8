//! Opaque refresh tokens and their cookie.
//!
//! A token is 256 bits from a CSPRNG, base64url-encoded (43 characters). The database keeps only
//! its SHA-256: tokens are high-entropy, so an unsalted fast hash is enough to make a leaked
//! table useless, and lookups stay an index probe on a value the caller cannot steer.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

/// Name of the HttpOnly cookie that carries the refresh token.
pub const COOKIE_NAME: &str = "jwt_auth_refresh";

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

/// `Set-Cookie` value delivering a token that may live `max_age_secs` more seconds.
///
/// HttpOnly keeps it from scripts; Secure from plain-HTTP networks (browsers treat
/// http://localhost and 127.0.0.1 as secure); SameSite=Strict keeps it off cross-site requests.
pub fn set_cookie(token: &str, max_age_secs: i64) -> String {
    format!(
        "{COOKIE_NAME}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        max_age_secs.max(0)
    )
}

/// `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// Finds our cookie in the request's `Cookie` headers.
pub fn from_cookie_headers<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
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
    fn cookie_has_every_protective_attribute() {
        let cookie = set_cookie("abc", 600);
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let headers = ["theme=dark; jwt_auth_refresh=tok123 ; x=y", "other=1"];
        assert_eq!(from_cookie_headers(headers), Some("tok123"));
        assert_eq!(from_cookie_headers(["jwt_auth_refresh="]), None);
        assert_eq!(from_cookie_headers(["jwt_auth_refresh_old=zzz"]), None);
    }

    #[test]
    fn only_token_shaped_values_are_well_formed() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"a".repeat(44)));
        assert!(!is_well_formed(&format!("{}=", "a".repeat(42))));
    }
}
