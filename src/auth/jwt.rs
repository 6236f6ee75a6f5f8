//! HS256 access tokens.
//!
//! Verification pins the algorithm to HS256 (RFC 8725 §3.1): a token whose header says `none`,
//! HS384/HS512 or RS256 is rejected before its signature is even considered, which closes the
//! `alg: none` and RSA-public-key-as-HMAC-secret confusions. `exp` and `sub` are required.

use crate::model::Role;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims of an access token (times are Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id, as a decimal string: RFC 7519 wants `sub` to be a string.
    pub sub: String,
    /// For display only; authorisation uses `sub` and `role`.
    pub username: String,
    pub role: Role,
    pub iat: i64,
    /// `exp - iat` is the configured TTL.
    pub exp: i64,
    /// 128 random bits (hex), so two tokens issued in the same second still differ.
    pub jti: String,
}

/// Why a token was refused. The edge answers `token_expired` or `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Genuine, but past `exp` (+ leeway): the client should refresh.
    #[error("the access token has expired")]
    Expired,
    /// Anything else: garbage, tampered, wrong key or algorithm, missing claims.
    #[error("the access token is not valid")]
    Invalid,
}

/// Signs and verifies access tokens with one HMAC key.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from the secret; tokens live `ttl_secs`; `exp` is checked with `leeway_secs` slack.
    /// Fails only for an empty secret (the configuration already requires 32 bytes).
    pub fn new(
        secret: &[u8],
        ttl_secs: i64,
        leeway_secs: i64,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = u64::try_from(leeway_secs).unwrap_or(0);
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            ttl_secs,
        })
    }

    /// Seconds an issued token is valid.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Issues a token for a user at time `now`.
    pub fn issue(
        &self,
        user_id: i64,
        username: &str,
        role: Role,
        now: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut jti = [0u8; 16];
        rand::fill(&mut jti);
        let claims = Claims {
            sub: user_id.to_string(),
            username: username.to_owned(),
            role,
            iat: now,
            exp: now.saturating_add(self.ttl_secs),
            jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Verifies signature, algorithm and expiry, and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    const SECRET: &[u8] = b"unit-test-secret-unit-test-secret!!";

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET, 900, 0).unwrap()
    }

    fn now() -> i64 {
        crate::auth::unix_now()
    }

    /// Builds a token by hand, signing `header.payload` with HMAC-SHA256 of `secret`.
    fn forge(header: &str, payload: &serde_json::Value, secret: &[u8]) -> String {
        let head = URL_SAFE_NO_PAD.encode(header);
        let body = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signing_input = format!("{head}.{body}");
        let sig = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(secret).unwrap(),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{signing_input}.{sig}")
    }

    fn claims_json(exp: i64) -> serde_json::Value {
        serde_json::json!({"sub": "1", "username": "user", "role": "user", "iat": exp - 900, "exp": exp, "jti": "ab"})
    }

    #[test]
    fn issued_token_has_the_documented_header_and_claims() {
        let at = now();
        let token = keys().issue(7, "user", Role::User, at).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        let claims = keys().verify(&token).unwrap();
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.username, "user");
        assert_eq!(claims.role, Role::User);
        assert_eq!(claims.iat, at);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.jti.len(), 32);
    }

    #[test]
    fn each_token_gets_its_own_jti() {
        let at = now();
        let a = keys()
            .verify(&keys().issue(1, "u", Role::User, at).unwrap())
            .unwrap();
        let b = keys()
            .verify(&keys().issue(1, "u", Role::User, at).unwrap())
            .unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn expired_token_is_reported_as_expired() {
        let token = forge(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims_json(now() - 5),
            SECRET,
        );
        assert_eq!(keys().verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn leeway_accepts_recent_expiry_but_never_more_than_configured() {
        let token = forge(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims_json(now() - 5),
            SECRET,
        );
        assert!(JwtKeys::new(SECRET, 900, 60)
            .unwrap()
            .verify(&token)
            .is_ok());
        let old = forge(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims_json(now() - 120),
            SECRET,
        );
        assert_eq!(
            JwtKeys::new(SECRET, 900, 60).unwrap().verify(&old),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn other_algorithms_are_rejected_even_with_the_right_secret() {
        let claims = claims_json(now() + 600);
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token = jsonwebtoken::encode(
                &Header::new(alg),
                &claims,
                &EncodingKey::from_secret(SECRET).unwrap(),
            )
            .unwrap();
            assert_eq!(keys().verify(&token), Err(TokenError::Invalid), "{alg:?}");
        }
    }

    #[test]
    fn alg_none_is_rejected() {
        let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims_json(now() + 600).to_string());
        for token in [format!("{head}.{body}."), format!("{head}.{body}")] {
            assert_eq!(keys().verify(&token), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn rs256_header_signed_with_the_secret_as_hmac_key_is_rejected() {
        // Key confusion: an attacker signs with HMAC using a "public key" while claiming RS256.
        let token = forge(
            r#"{"alg":"RS256","typ":"JWT"}"#,
            &claims_json(now() + 600),
            SECRET,
        );
        assert_eq!(keys().verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn wrong_secret_tampering_and_garbage_are_rejected() {
        let good = keys().issue(1, "user", Role::User, now()).unwrap();
        let other = JwtKeys::new(b"another-secret-another-secret-123", 900, 0).unwrap();
        assert_eq!(other.verify(&good), Err(TokenError::Invalid));

        // Swap the payload for one that says admin, keeping the old signature.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(keys().verify(&parts.join(".")), Err(TokenError::Invalid));

        for garbage in [
            "",
            "abc",
            "a.b.c",
            "....",
            "eyJhbGciOiJIUzI1NiJ9.e30.",
            "💥.💥.💥",
        ] {
            assert_eq!(
                keys().verify(garbage),
                Err(TokenError::Invalid),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn tokens_without_exp_are_rejected() {
        let payload = serde_json::json!({"sub": "1", "username": "user", "role": "user", "iat": 1, "jti": "ab"});
        let token = forge(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, SECRET);
        assert_eq!(keys().verify(&token), Err(TokenError::Invalid));
    }
}
