//! The refresh-token cookie on the wire.
//!
//! `__Host-jwt_auth_refresh; Secure; Path=/` and no `Domain`: the `__Host-` prefix makes
//! browsers accept the cookie only from a secure origin, for this host only, on `/`, so a
//! sibling subdomain or a plain-HTTP man in the middle cannot plant one of their own (RFC 6265bis
//! §4.1.3.2). HttpOnly keeps it from scripts; SameSite=Strict off cross-site requests; Max-Age is
//! the session's remaining absolute lifetime, so the browser forgets it when the server would
//! refuse it anyway. (Browsers count http://localhost and http://127.0.0.1 as secure.)
//!
//! A request that carries the cookie more than once is refused: which one the browser meant
//! cannot be known, and "the first one wins" is exactly what a planted cookie relies on.

/// The cookie's name.
pub const REFRESH_COOKIE: &str = "__Host-jwt_auth_refresh";
/// Its name before the `__Host-` prefix; still cleared when a browser sends it.
pub const LEGACY_REFRESH_COOKIE: &str = "jwt_auth_refresh";

/// `Set-Cookie` value delivering a token that may live `max_age_secs` more seconds.
pub fn set_refresh(token: &str, max_age_secs: i64) -> String {
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        max_age_secs.max(0)
    )
}

/// `Set-Cookie` value that deletes the cookie.
pub fn clear_refresh() -> String {
    format!("{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// `Set-Cookie` values that delete the unprefixed cookie wherever it may have been set (by an
/// older version on `/`, or planted on `/api`).
pub fn clear_legacy() -> [String; 2] {
    ["/", "/api"].map(|path| format!("{LEGACY_REFRESH_COOKIE}=; Path={path}; Max-Age=0"))
}

/// What a request's `Cookie` headers say about the refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RefreshCookieValue {
    /// No refresh cookie.
    #[default]
    Absent,
    /// Exactly one.
    One(String),
    /// More than one: refused.
    Several,
}

/// Reads the refresh cookie from the request's `Cookie` header values. Also says whether the
/// legacy unprefixed cookie was there.
pub fn find_refresh<'a>(headers: impl IntoIterator<Item = &'a str>) -> (RefreshCookieValue, bool) {
    let mut found = RefreshCookieValue::Absent;
    let mut legacy = false;
    let pairs = headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='));
    for (name, value) in pairs {
        let name = name.trim();
        if name == LEGACY_REFRESH_COOKIE {
            legacy = true;
        } else if name == REFRESH_COOKIE {
            found = match found {
                RefreshCookieValue::Absent => RefreshCookieValue::One(value.trim().to_owned()),
                _ => RefreshCookieValue::Several,
            };
        }
    }
    if found == RefreshCookieValue::One(String::new()) {
        found = RefreshCookieValue::Absent;
    }
    (found, legacy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_has_every_protective_attribute() {
        let cookie = set_refresh("abc", 600);
        assert!(
            cookie.starts_with("__Host-jwt_auth_refresh=abc;"),
            "{cookie}"
        );
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.contains("Domain"));
        assert!(clear_refresh().contains("Max-Age=0"));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let headers = [
            "theme=dark; __Host-jwt_auth_refresh=tok123 ; x=y",
            "other=1",
        ];
        assert_eq!(
            find_refresh(headers),
            (RefreshCookieValue::One("tok123".into()), false)
        );
        assert_eq!(
            find_refresh(["__Host-jwt_auth_refresh="]),
            (RefreshCookieValue::Absent, false)
        );
        assert_eq!(
            find_refresh(["__Host-jwt_auth_refresh_old=zzz"]),
            (RefreshCookieValue::Absent, false)
        );
    }

    #[test]
    fn a_planted_duplicate_or_the_legacy_name_is_noticed() {
        assert_eq!(
            find_refresh(["__Host-jwt_auth_refresh=a; __Host-jwt_auth_refresh=b"]).0,
            RefreshCookieValue::Several
        );
        assert_eq!(
            find_refresh(["__Host-jwt_auth_refresh=a", "__Host-jwt_auth_refresh=b"]).0,
            RefreshCookieValue::Several
        );
        assert_eq!(
            find_refresh(["jwt_auth_refresh=planted; __Host-jwt_auth_refresh=a"]),
            (RefreshCookieValue::One("a".into()), true)
        );
    }
}
