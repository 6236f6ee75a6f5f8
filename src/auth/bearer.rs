//! The bearer check for protected endpoints (RFC 6750): the `Authorization` header's value in,
//! the token's claims (or why not) out. The server's `BearerClaims` extractor hands it the header.

use crate::auth::{
    jwt::{Claims, JwtKeys},
    AuthError,
};

/// Verifies an `Authorization` header value (`None`: no header) and returns the token's claims:
/// `MissingToken` without a bearer token, `Token(..)` when it is expired or not valid.
pub fn authorize(header: Option<&[u8]>, keys: &JwtKeys) -> Result<Claims, AuthError> {
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
    Ok(keys.verify(token)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::TokenError;
    use crate::model::Role;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"bearer-test-secret-bearer-test-secret", 900, 0).unwrap()
    }

    fn check(value: &str) -> Result<Claims, AuthError> {
        authorize(Some(value.as_bytes()), &keys())
    }

    #[test]
    fn valid_bearer_token_yields_claims() {
        let token = keys()
            .issue(3, "admin", Role::Admin, crate::auth::unix_now())
            .unwrap();
        for header in [format!("Bearer {token}"), format!("bearer  {token}")] {
            let claims = check(&header).unwrap();
            assert_eq!(claims.username, "admin");
            assert_eq!(claims.role, Role::Admin);
        }
    }

    #[test]
    fn missing_or_other_scheme_is_missing_token() {
        assert!(matches!(
            authorize(None, &keys()),
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
            authorize(Some(b"Bearer \xff\xfe"), &keys()),
            Err(AuthError::Token(TokenError::Invalid))
        ));
    }
}
