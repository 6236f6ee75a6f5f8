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
//!
//! The device cookie (`__Host-jwt_auth_device`, see `auth::device`) has the same attributes and
//! lives a year. `Cookie` headers are read as bytes: a pair that is not valid (say, another
//! site's cookie with non-ASCII bytes) is skipped, not the whole header.

/// The cookie's name.
pub const REFRESH_COOKIE: &str = "__Host-jwt_auth_refresh";
/// Its name before the `__Host-` prefix; still cleared when a browser sends it.
pub const LEGACY_REFRESH_COOKIE: &str = "jwt_auth_refresh";
/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "__Host-jwt_auth_device";
/// How long a device cookie lives: a year.
const DEVICE_MAX_AGE_SECS: i64 = 365 * 86_400;

/// `Set-Cookie` value delivering a device cookie.
pub fn set_device(value: &str) -> String {
    format!(
        "{DEVICE_COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; \
         Max-Age={DEVICE_MAX_AGE_SECS}"
    )
}

/// The `name=value` pairs of `Cookie` header values, from their bytes: pairs that are not
/// ASCII, or have no `=`, are skipped.
fn pairs<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    headers
        .into_iter()
        .flat_map(|header| header.split(|b| *b == b';'))
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter(|pair| pair.is_ascii())
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
}

/// The device cookie's value, when the request carries exactly one.
pub fn find_device<'a>(headers: impl IntoIterator<Item = &'a [u8]>) -> Option<String> {
    let mut found = pairs(headers).filter(|(name, _)| *name == DEVICE_COOKIE);
    match (found.next(), found.next()) {
        (Some((_, value)), None) if !value.is_empty() => Some(value.to_owned()),
        _ => None,
    }
}

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
#[derive(Clone, PartialEq, Eq, Default)]
pub enum RefreshCookieValue {
    /// No refresh cookie.
    #[default]
    Absent,
    /// Exactly one.
    One(String),
    /// More than one: refused.
    Several,
}

impl std::fmt::Debug for RefreshCookieValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Absent => "Absent",
            Self::One(_) => "One([redacted])",
            Self::Several => "Several",
        })
    }
}

/// Reads the refresh cookie from the request's `Cookie` header values (their bytes). Also
/// says whether the legacy unprefixed cookie was there.
pub fn find_refresh<'a>(headers: impl IntoIterator<Item = &'a [u8]>) -> (RefreshCookieValue, bool) {
    let mut found = RefreshCookieValue::Absent;
    let mut legacy = false;
    for (name, value) in pairs(headers) {
        if name == LEGACY_REFRESH_COOKIE {
            legacy = true;
        } else if name == REFRESH_COOKIE {
            found = match found {
                RefreshCookieValue::Absent => RefreshCookieValue::One(value.to_owned()),
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
        let headers: [&[u8]; 2] = [
            b"theme=dark; __Host-jwt_auth_refresh=tok123 ; x=y",
            b"other=1",
        ];
        assert_eq!(
            find_refresh(headers),
            (RefreshCookieValue::One("tok123".into()), false)
        );
        assert_eq!(
            find_refresh([&b"__Host-jwt_auth_refresh="[..]]),
            (RefreshCookieValue::Absent, false)
        );
        assert_eq!(
            find_refresh([&b"__Host-jwt_auth_refresh_old=zzz"[..]]),
            (RefreshCookieValue::Absent, false)
        );
        // Another site's non-ASCII cookie beside ours hides nothing.
        let odd = "caf\u{e9}=cr\u{e8}me; __Host-jwt_auth_refresh=tok; n=\u{1f36a}";
        assert_eq!(
            find_refresh([odd.as_bytes()]).0,
            RefreshCookieValue::One("tok".into())
        );
        let latin1: &[u8] = b"x=\xe9t\xe9; __Host-jwt_auth_refresh=tok";
        assert_eq!(
            find_refresh([latin1]).0,
            RefreshCookieValue::One("tok".into())
        );
        assert_eq!(
            find_device([&b"a=1; __Host-jwt_auth_device=d.e.f"[..]]).as_deref(),
            Some("d.e.f")
        );
    }

    #[test]
    fn a_planted_duplicate_or_the_legacy_name_is_noticed() {
        assert_eq!(
            find_refresh([&b"__Host-jwt_auth_refresh=a; __Host-jwt_auth_refresh=b"[..]]).0,
            RefreshCookieValue::Several
        );
        assert_eq!(
            find_refresh([
                &b"__Host-jwt_auth_refresh=a"[..],
                &b"__Host-jwt_auth_refresh=b"[..]
            ])
            .0,
            RefreshCookieValue::Several
        );
        assert_eq!(
            find_refresh([&b"jwt_auth_refresh=planted; __Host-jwt_auth_refresh=a"[..]]),
            (RefreshCookieValue::One("a".into()), true)
        );
    }
}
