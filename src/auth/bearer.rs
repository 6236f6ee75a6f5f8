//! The bearer check for protected endpoints (RFC 6750): the `Authorization` header's value in,
//! the token's claims (or why not) out. The server's `BearerClaims` extractor hands it the header.

use crate::auth::{
    jwt::{Claims, JwtKeys},
    AuthError,
};

/// Verifies an `Authorization` header value (`None`: no header) at time `now` and returns the
/// token's claims: `MissingToken` without a bearer token, `Token(..)` when it is expired or not
/// valid. (Whether its session was revoked is [`crate::auth::Auth::authorize`]'s question.)
pub fn authorize(header: Option<&[u8]>, keys: &JwtKeys, now: i64) -> Result<Claims, AuthError> {
    let value = header.ok_or(AuthError::MissingToken)?;
    let value = std::str::from_utf8(value)
        .map_err(|_| AuthError::Token(crate::auth::jwt::TokenError::Invalid))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    // The scheme is case-insensitive (RFC 7235 §2.1).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(keys.verify(token, now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::{Subject, TokenError, TokenSettings};
    use crate::auth::unix_now;
    use crate::model::Role;

    fn keys() -> JwtKeys {
        let settings = TokenSettings {
            ttl_secs: 900,
            leeway_secs: 0,
            issuer: "http://127.0.0.1:3000".into(),
            audience: "http://127.0.0.1:3000/api".into(),
        };
        let key = crate::auth::jwt::NamedKey {
            kid: "test",
            secret: b"bearer-test-secret-bearer-test-secret",
        };
        JwtKeys::new(key, &[], settings).unwrap()
    }

    fn check(value: &str) -> Result<Claims, AuthError> {
        authorize(Some(value.as_bytes()), &keys(), unix_now())
    }

    #[test]
    fn valid_bearer_token_yields_claims() {
        let subject = Subject {
            user_id: 3,
            username: "admin",
            role: Role::Admin,
            session_id: "s",
            amr: crate::model::Amr::Password,
            auth_time: 0,
        };
        let token = keys().issue(subject, unix_now()).unwrap();
        for header in [format!("Bearer {token}"), format!("bearer  {token}")] {
            let claims = check(&header).unwrap();
            assert_eq!(claims.username, "admin");
            assert_eq!(claims.role, Role::Admin);
        }
    }

    #[test]
    fn missing_or_other_scheme_is_missing_token() {
        assert!(matches!(
            authorize(None, &keys(), unix_now()),
            Err(AuthError::MissingToken)
        ));
        for header in ["Basic dXNlcjpwdw==", "Bearer "] {
            assert!(
                matches!(check(header), Err(AuthError::MissingToken)),
                "{header}"
            );
        }
    }

    #[test]
    fn garbage_is_invalid_token() {
        assert!(matches!(
            check("Bearer nope"),
            Err(AuthError::Token(TokenError::Invalid))
        ));
        assert!(matches!(
            authorize(Some(b"Bearer \xff\xfe"), &keys(), unix_now()),
            Err(AuthError::Token(TokenError::Invalid))
        ));
    }
}
