//! The refresh-token cookie on the wire.
//!
//! HttpOnly keeps it from scripts; Secure from plain-HTTP networks (browsers treat
//! http://localhost and 127.0.0.1 as secure); SameSite=Strict keeps it off cross-site requests;
//! Max-Age is the session's remaining absolute lifetime, so the browser forgets it when the
//! server would refuse it anyway.

/// The cookie's name.
pub const REFRESH_COOKIE: &str = "jwt_auth_refresh";

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

/// Finds the refresh cookie among the request's `Cookie` header values.
pub fn find_refresh<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_has_every_protective_attribute() {
        let cookie = set_refresh("abc", 600);
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=600",
        ] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(clear_refresh().contains("Max-Age=0"));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let headers = ["theme=dark; jwt_auth_refresh=tok123 ; x=y", "other=1"];
        assert_eq!(find_refresh(headers), Some("tok123"));
        assert_eq!(find_refresh(["jwt_auth_refresh="]), None);
        assert_eq!(find_refresh(["jwt_auth_refresh_old=zzz"]), None);
    }
}
