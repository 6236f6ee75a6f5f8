//! The `Authorization: Bearer <jwt>` check for protected endpoints (RFC 6750).

use crate::api::{ApiError, ErrorCode};
use crate::auth::jwt::{Claims, JwtKeys};
use http::{header::AUTHORIZATION, HeaderMap};

/// Verifies the request's bearer token and returns its claims, or the API error to answer with:
/// `missing_token` without a bearer header, `invalid_token` or `token_expired` otherwise.
pub fn authorize(headers: &HeaderMap, keys: &JwtKeys) -> Result<Claims, ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ErrorCode::MissingToken))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::InvalidToken))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    // The scheme is case-insensitive (RFC 7235 §2.1).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::new(ErrorCode::MissingToken));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::new(ErrorCode::MissingToken));
    }
    keys.verify(token).map_err(|e| ApiError::new(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Role;
    use http::HeaderValue;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"bearer-test-secret-bearer-test-secret", 900, 0).unwrap()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn valid_bearer_token_yields_claims() {
        let token = keys()
            .issue(3, "admin", Role::Admin, crate::auth::unix_now())
            .unwrap();
        for header in [format!("Bearer {token}"), format!("bearer  {token}")] {
            let claims = authorize(&headers(&header), &keys()).unwrap();
            assert_eq!(claims.username, "admin");
            assert_eq!(claims.role, Role::Admin);
        }
    }

    #[test]
    fn missing_or_other_scheme_is_missing_token() {
        assert_eq!(
            authorize(&HeaderMap::new(), &keys()).unwrap_err().error,
            ErrorCode::MissingToken
        );
        assert_eq!(
            authorize(&headers("Basic dXNlcjpwdw=="), &keys())
                .unwrap_err()
                .error,
            ErrorCode::MissingToken
        );
        assert_eq!(
            authorize(&headers("Bearer "), &keys()).unwrap_err().error,
            ErrorCode::MissingToken
        );
    }

    #[test]
    fn garbage_is_invalid_token() {
        assert_eq!(
            authorize(&headers("Bearer nope"), &keys())
                .unwrap_err()
                .error,
            ErrorCode::InvalidToken
        );
    }
}
