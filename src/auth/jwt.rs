//! HS256 access tokens, shaped as RFC 9068 access tokens.
//!
//! Verification pins the algorithm to HS256 (RFC 8725 §3.1): a token whose header says `none`,
//! HS384/HS512 or RS256 is rejected before its signature is even considered, which closes the
//! `alg: none` and RSA-public-key-as-HMAC-secret confusions. The header must say
//! `typ: at+jwt` (RFC 8725 §3.11: explicit typing, so an ID token or any other JWT signed with
//! the same key is not accepted as an access token), and `iss` and `aud` must be ours. `exp`,
//! `sub`, `sid`, `iss` and `aud` are required; an `iat` in the future (beyond the leeway) is
//! refused.
//!
//! Keys are named: every token says in its `kid` header which key signed it. One key is
//! active (it signs); the others only verify, which is what lets a key rotate without logging
//! anyone out (add the new key as verify-only everywhere, make it active, drop the old one
//! after one token lifetime). A token without a `kid`, or naming a key we do not hold, is
//! invalid; the `kid` only selects among our keys and never chooses the algorithm.

use crate::model::{Amr, Role};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// The `typ` header of our access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an access token (times are Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user's id, as a decimal string: RFC 7519 wants `sub` to be a string.
    pub sub: String,
    pub aud: String,
    /// The session (refresh-token family) the token was issued for: revoking the session
    /// revokes the token.
    pub sid: String,
    /// For display only; authorisation uses `sub` and `role`.
    pub username: String,
    pub role: Role,
    /// How the user authenticated (RFC 8176): `["pwd"]` or `["pwd", "otp"]`.
    #[serde(default)]
    pub amr: Vec<String>,
    /// When the user last authenticated (RFC 9068 §2.2.1): the login that started the session,
    /// or a re-authentication since. A refresh keeps it: a refresh is not a login.
    #[serde(default)]
    pub auth_time: i64,
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
    /// Anything else: garbage, tampered, wrong key, algorithm, type, issuer or audience,
    /// missing claims, issued in the future, or its session was revoked.
    #[error("the access token is not valid")]
    Invalid,
}

/// What the signer needs besides the key: lifetime, clock leeway, and who we are.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub ttl_secs: i64,
    pub leeway_secs: i64,
    /// `iss` of every token we issue, and the only one we accept.
    pub issuer: String,
    /// `aud` of every token we issue, and the only one we accept.
    pub audience: String,
}

/// Signs with the active HMAC key and verifies with any of the configured ones.
#[derive(Clone)]
pub struct JwtKeys {
    active_kid: String,
    encoding: EncodingKey,
    /// Every key that verifies, the active one included, by `kid`.
    decoding: Vec<(String, DecodingKey)>,
    settings: TokenSettings,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.decoding.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("JwtKeys")
            .field("active_kid", &self.active_kid)
            .field("kids", &kids)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One named key: its `kid` and HMAC secret.
#[derive(Debug, Clone, Copy)]
pub struct NamedKey<'a> {
    pub kid: &'a str,
    pub secret: &'a [u8],
}

/// The user and session a token is issued for.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub user_id: i64,
    pub username: &'a str,
    pub role: Role,
    pub session_id: &'a str,
    pub amr: Amr,
    /// When the user last authenticated (see [`Claims::auth_time`]).
    pub auth_time: i64,
}

impl JwtKeys {
    /// Keys from `active` (signs and verifies) and `verify_only`. Fails only for an empty
    /// secret (the configuration already requires 32 bytes).
    pub fn new(
        active: NamedKey<'_>,
        verify_only: &[NamedKey<'_>],
        settings: TokenSettings,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        let mut decoding = Vec::with_capacity(1 + verify_only.len());
        for key in std::iter::once(&active).chain(verify_only) {
            decoding.push((key.kid.to_owned(), DecodingKey::from_secret(key.secret)?));
        }
        Ok(Self {
            active_kid: active.kid.to_owned(),
            encoding: EncodingKey::from_secret(active.secret)?,
            decoding,
            settings,
        })
    }

    /// Seconds an issued token is valid.
    pub fn ttl_secs(&self) -> i64 {
        self.settings.ttl_secs
    }

    /// How long after its issue a token may still be presented: its lifetime plus the leeway.
    /// A revoked session must stay in the revocation set this long.
    pub fn max_token_age_secs(&self) -> i64 {
        self.settings.ttl_secs + self.settings.leeway_secs
    }

    /// Issues a token for `subject` at time `now`.
    pub fn issue(
        &self,
        subject: Subject<'_>,
        now: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut jti = [0u8; 16];
        rand::fill(&mut jti);
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: subject.user_id.to_string(),
            aud: self.settings.audience.clone(),
            sid: subject.session_id.to_owned(),
            username: subject.username.to_owned(),
            role: subject.role,
            amr: subject
                .amr
                .methods()
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
            auth_time: subject.auth_time,
            iat: now,
            exp: now.saturating_add(self.settings.ttl_secs),
            jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(self.active_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
    }

    /// Verifies signature, algorithm, type, issuer, audience and times at `now`, and returns
    /// the claims.
    ///
    /// In the order RFC 8725 asks for: the header first (HS256, `at+jwt`, a `kid` we hold),
    /// then the signature, and only then anything in the payload, which is parsed once.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let jose: JoseHeader = decode_json(header)?;
        // RFC 9068 §4: `at+jwt`, or its full media type, compared case-insensitively.
        let typ_ok = jose.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
                || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if jose.alg != "HS256" || !typ_ok || jose.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        let kid = jose.kid.as_deref().ok_or(TokenError::Invalid)?;
        let (_, key) = self
            .decoding
            .iter()
            .find(|(id, _)| id == kid)
            .ok_or(TokenError::Invalid)?;
        let signed = &token[..header.len() + 1 + payload.len()];
        // HS256 whatever the header said (it was checked above, never used to choose);
        // `verify` compares in constant time.
        let genuine =
            jsonwebtoken::crypto::verify(signature, signed.as_bytes(), key, Algorithm::HS256)
                .map_err(|_| TokenError::Invalid)?;
        if !genuine {
            return Err(TokenError::Invalid);
        }
        let claims: Claims = decode_json(payload)?;
        if claims.iss != self.settings.issuer || claims.aud != self.settings.audience {
            return Err(TokenError::Invalid);
        }
        let leeway = self.settings.leeway_secs;
        if claims.iat > now.saturating_add(leeway) {
            return Err(TokenError::Invalid);
        }
        // Never longer-lived than this server issues, whatever key signed it.
        if claims.exp.saturating_sub(claims.iat) > self.settings.ttl_secs.saturating_add(leeway) {
            return Err(TokenError::Invalid);
        }
        // Valid strictly before `exp` (RFC 7519 §4.1.4: "on or after" is expired).
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// The JOSE header fields we look at; the others are ignored.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    /// Extensions the token says must be understood (RFC 7515 §4.1.11): we understand none.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// A base64url (unpadded) JSON segment of a token.
fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    const SECRET: &[u8] = b"unit-test-secret-unit-test-secret!!";
    const ISS: &str = "http://127.0.0.1:3000";
    const AUD: &str = "http://127.0.0.1:3000/api";

    fn settings(leeway_secs: i64) -> TokenSettings {
        TokenSettings {
            ttl_secs: 900,
            leeway_secs,
            issuer: ISS.into(),
            audience: AUD.into(),
        }
    }

    const KID: &str = "k1";

    fn active(secret: &[u8]) -> NamedKey<'_> {
        NamedKey { kid: KID, secret }
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(active(SECRET), &[], settings(0)).unwrap()
    }

    fn now() -> i64 {
        crate::auth::unix_now()
    }

    fn subject(user_id: i64) -> Subject<'static> {
        Subject {
            user_id,
            username: "user",
            role: Role::User,
            session_id: "session-1",
            amr: Amr::Password,
            auth_time: 0,
        }
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

    const HEADER: &str = r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#;

    fn claims_json(exp: i64) -> serde_json::Value {
        serde_json::json!({"iss": ISS, "sub": "1", "aud": AUD, "sid": "s", "username": "user",
                           "role": "user", "iat": exp - 900, "exp": exp, "jti": "ab"})
    }

    #[test]
    fn issued_token_has_the_documented_header_and_claims() {
        let at = now();
        let token = keys().issue(subject(7), at).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": KID})
        );
        let claims = keys().verify(&token, at).unwrap();
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.sid, "session-1");
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISS, AUD));
        assert_eq!(claims.username, "user");
        assert_eq!(claims.role, Role::User);
        assert_eq!(claims.iat, at);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.jti.len(), 32);
        assert_eq!(claims.amr, ["pwd"]);
    }

    #[test]
    fn a_forged_token_of_the_right_shape_verifies() {
        // The baseline for the refusals below: only the one thing each changes is wrong.
        let token = forge(HEADER, &claims_json(now() + 600), SECRET);
        assert!(keys().verify(&token, now()).is_ok());
    }

    #[test]
    fn each_token_gets_its_own_jti() {
        let at = now();
        let a = keys().verify(&keys().issue(subject(1), at).unwrap(), at);
        let b = keys().verify(&keys().issue(subject(1), at).unwrap(), at);
        assert_ne!(a.unwrap().jti, b.unwrap().jti);
    }

    #[test]
    fn expired_token_is_reported_as_expired() {
        let token = forge(HEADER, &claims_json(now() - 5), SECRET);
        assert_eq!(keys().verify(&token, now()), Err(TokenError::Expired));
    }

    #[test]
    fn leeway_accepts_recent_expiry_but_never_more_than_configured() {
        let lenient = JwtKeys::new(active(SECRET), &[], settings(60)).unwrap();
        let token = forge(HEADER, &claims_json(now() - 5), SECRET);
        assert!(lenient.verify(&token, now()).is_ok());
        let old = forge(HEADER, &claims_json(now() - 120), SECRET);
        assert_eq!(lenient.verify(&old, now()), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_type_issuer_or_audience_is_invalid() {
        let good = claims_json(now() + 600);
        for header in [
            r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"HS256","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"id+jwt","kid":"k1"}"#,
        ] {
            let token = forge(header, &good, SECRET);
            assert_eq!(
                keys().verify(&token, now()),
                Err(TokenError::Invalid),
                "{header}"
            );
        }
        let full_media_type = forge(
            r#"{"alg":"HS256","typ":"application/AT+JWT","kid":"k1"}"#,
            &good,
            SECRET,
        );
        assert!(keys().verify(&full_media_type, now()).is_ok());
        for (claim, value) in [
            ("iss", serde_json::json!("https://evil.example")),
            ("aud", serde_json::json!("https://evil.example/api")),
            ("iss", serde_json::Value::Null),
            ("aud", serde_json::Value::Null),
            ("sid", serde_json::Value::Null),
        ] {
            let mut claims = good.clone();
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(claim);
            } else {
                claims[claim] = value;
            }
            let token = forge(HEADER, &claims, SECRET);
            assert_eq!(
                keys().verify(&token, now()),
                Err(TokenError::Invalid),
                "{claim}"
            );
        }
    }

    #[test]
    fn a_token_issued_in_the_future_is_invalid() {
        let mut claims = claims_json(now() + 600);
        claims["iat"] = (now() + 120).into();
        let token = forge(HEADER, &claims, SECRET);
        assert_eq!(keys().verify(&token, now()), Err(TokenError::Invalid));
        let lenient = JwtKeys::new(active(SECRET), &[], settings(60)).unwrap();
        claims["iat"] = (now() + 30).into();
        assert!(lenient
            .verify(&forge(HEADER, &claims, SECRET), now())
            .is_ok());
    }

    #[test]
    fn other_algorithms_are_rejected_even_with_the_right_secret() {
        let claims = claims_json(now() + 600);
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.typ = Some(ACCESS_TOKEN_TYP.into());
            header.kid = Some(KID.into());
            let token =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET).unwrap())
                    .unwrap();
            assert_eq!(
                keys().verify(&token, now()),
                Err(TokenError::Invalid),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn alg_none_is_rejected() {
        let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims_json(now() + 600).to_string());
        for token in [format!("{head}.{body}."), format!("{head}.{body}")] {
            assert_eq!(keys().verify(&token, now()), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn rs256_header_signed_with_the_secret_as_hmac_key_is_rejected() {
        // Key confusion: an attacker signs with HMAC using a "public key" while claiming RS256.
        let token = forge(
            r#"{"alg":"RS256","typ":"at+jwt","kid":"k1"}"#,
            &claims_json(now() + 600),
            SECRET,
        );
        assert_eq!(keys().verify(&token, now()), Err(TokenError::Invalid));
    }

    #[test]
    fn wrong_secret_tampering_and_garbage_are_rejected() {
        let good = keys().issue(subject(1), now()).unwrap();
        let other = JwtKeys::new(
            active(b"another-secret-another-secret-123"),
            &[],
            settings(0),
        )
        .unwrap();
        assert_eq!(other.verify(&good, now()), Err(TokenError::Invalid));

        // Swap the payload for one that says admin, keeping the old signature.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            keys().verify(&parts.join("."), now()),
            Err(TokenError::Invalid)
        );

        for garbage in [
            "",
            "abc",
            "a.b.c",
            "....",
            "eyJhbGciOiJIUzI1NiJ9.e30.",
            "💥.💥.💥",
        ] {
            assert_eq!(
                keys().verify(garbage, now()),
                Err(TokenError::Invalid),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn tokens_without_exp_are_rejected() {
        let mut payload = claims_json(now() + 600);
        payload.as_object_mut().unwrap().remove("exp");
        let token = forge(HEADER, &payload, SECRET);
        assert_eq!(keys().verify(&token, now()), Err(TokenError::Invalid));
    }

    const OLD_SECRET: &[u8] = b"the-previous-key-the-previous-key!!";

    #[test]
    fn verify_only_keys_verify_but_never_sign() {
        let old = NamedKey {
            kid: "old",
            secret: OLD_SECRET,
        };
        let rotated = JwtKeys::new(active(SECRET), &[old], settings(0)).unwrap();
        let before = JwtKeys::new(old, &[], settings(0)).unwrap();
        let old_token = before.issue(subject(1), now()).unwrap();
        assert_eq!(rotated.verify(&old_token, now()).unwrap().sub, "1");
        let new_token = rotated.issue(subject(1), now()).unwrap();
        let header = jsonwebtoken::decode_header(&new_token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(KID));
        // The instance that has not learnt the new key yet refuses its tokens.
        assert_eq!(before.verify(&new_token, now()), Err(TokenError::Invalid));
    }

    #[test]
    fn missing_unknown_or_hostile_kids_are_invalid() {
        let claims = claims_json(now() + 600);
        for header in [
            r#"{"alg":"HS256","typ":"at+jwt"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k2"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":""}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"K1"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"../../etc/passwd"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k1' OR '1'='1"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":7}"#,
        ] {
            let token = forge(header, &claims, SECRET);
            assert_eq!(
                keys().verify(&token, now()),
                Err(TokenError::Invalid),
                "{header}"
            );
        }
    }

    #[test]
    fn a_kid_must_match_the_key_that_signed() {
        // Signed with the verify-only key but claiming the active one's kid, and vice versa.
        let old = NamedKey {
            kid: "old",
            secret: OLD_SECRET,
        };
        let rotated = JwtKeys::new(active(SECRET), &[old], settings(0)).unwrap();
        let claims = claims_json(now() + 600);
        let lying_new = forge(HEADER, &claims, OLD_SECRET);
        let lying_old = forge(
            r#"{"alg":"HS256","typ":"at+jwt","kid":"old"}"#,
            &claims,
            SECRET,
        );
        for token in [lying_new, lying_old] {
            assert_eq!(rotated.verify(&token, now()), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn the_signature_is_checked_before_anything_in_the_payload() {
        // An expired token with a wrong signature is invalid, not "expired": nothing in an
        // unauthenticated payload is believed, not even its expiry.
        let forged = forge(
            HEADER,
            &claims_json(now() - 5),
            b"not-the-key-not-the-key-not-the-key",
        );
        assert_eq!(keys().verify(&forged, now()), Err(TokenError::Invalid));
    }

    #[test]
    fn odd_headers_and_shapes_are_invalid() {
        let claims = claims_json(now() + 600);
        for header in [
            r#"{"alg":"hs256","typ":"at+jwt","kid":"k1"}"#,
            r#"{"alg":"HS256","alg":"none","typ":"at+jwt","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k1","kid":"k2"}"#,
            r#"["HS256"]"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k1","crit":["exp"]}"#,
            "not json",
        ] {
            let token = forge(header, &claims, SECRET);
            assert_eq!(
                keys().verify(&token, now()),
                Err(TokenError::Invalid),
                "{header}"
            );
        }
        let good = forge(HEADER, &claims, SECRET);
        for token in [
            format!("{good}."),
            format!("{good}.x"),
            format!(".{good}"),
            good.replacen('.', "..", 1),
        ] {
            assert_eq!(
                keys().verify(&token, now()),
                Err(TokenError::Invalid),
                "{token}"
            );
        }
        // An unknown header field is ignored, as RFC 7515 allows for non-critical ones.
        let extra = forge(
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k1","x5u":"https://evil.example"}"#,
            &claims,
            SECRET,
        );
        assert!(keys().verify(&extra, now()).is_ok());
    }

    #[test]
    fn a_token_living_longer_than_we_issue_is_invalid_and_none_is_valid_at_its_exp() {
        let mut long = claims_json(now() + 600);
        long["iat"] = (now() - 10).into();
        long["exp"] = (now() - 10 + 901).into();
        assert_eq!(
            keys().verify(&forge(HEADER, &long, SECRET), now()),
            Err(TokenError::Invalid)
        );
        let at = now();
        let token = forge(HEADER, &claims_json(at), SECRET);
        assert_eq!(keys().verify(&token, at), Err(TokenError::Expired));
        assert!(keys().verify(&token, at - 1).is_ok());
    }
}
