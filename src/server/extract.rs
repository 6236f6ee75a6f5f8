//! Request extractors: what a handler reads from a request, as typed values. Server functions
//! pull them in with [`extract`]; plain axum handlers and middleware take them as arguments.
//!
//! | extractor        | from                                   | refuses with                 |
//! |------------------|----------------------------------------|------------------------------|
//! | [`RefreshCookie`]| the `Cookie` header                    | never (handlers refuse a duplicated cookie) |
//! | [`ClientInfo`]   | the socket's peer address, `User-Agent`| never                        |
//! | [`BearerClaims`] | `Authorization: Bearer <jwt>`          | 401 `missing_token`, `invalid_token`, `token_expired` |

use crate::api::ApiError;
use crate::auth::jwt::Claims;
use crate::server::net::IpNet;
use crate::server::{
    cookies::{self, RefreshCookieValue},
    error::internal,
    state::AppState,
};
use axum::extract::{ConnectInfo, FromRequestParts};
use http::{header, request::Parts};
use leptos::prelude::use_context;
use std::{
    convert::Infallible,
    fmt::Debug,
    net::{IpAddr, SocketAddr},
};

pub use crate::model::ClientInfo;

/// The refresh cookie of a request (and its device cookie, which travels with it).
#[derive(Clone, Default)]
pub struct RefreshCookie {
    pub value: RefreshCookieValue,
    /// The request also carried the old unprefixed cookie, which should be cleared.
    pub legacy_present: bool,
    /// The device cookie (`auth::device`), if the request carried exactly one.
    pub device: Option<String>,
}

impl Debug for RefreshCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshCookie")
            .field(
                "present",
                &!matches!(self.value, RefreshCookieValue::Absent),
            )
            .field("legacy_present", &self.legacy_present)
            .field("device", &self.device.is_some())
            .finish()
    }
}

impl RefreshCookie {
    /// Reads it from request parts (also used by the page-session middleware).
    pub fn from_parts(parts: &Parts) -> Self {
        let headers = || {
            parts
                .headers
                .get_all(header::COOKIE)
                .iter()
                .map(|v| v.as_bytes())
        };
        let (value, legacy_present) = cookies::find_refresh(headers());
        Self {
            value,
            legacy_present,
            device: cookies::find_device(headers()),
        }
    }

    /// The token, when the request carries exactly one refresh cookie.
    pub fn token(&self) -> Option<&str> {
        match &self.value {
            RefreshCookieValue::One(token) => Some(token),
            _ => None,
        }
    }

    pub fn is_duplicated(&self) -> bool {
        self.value == RefreshCookieValue::Several
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RefreshCookie {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// Longest `User-Agent` kept for the audit log.
const MAX_USER_AGENT_CHARS: usize = 256;

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientInfo {
            ip: peer.map(|peer| client_ip(peer, &parts.headers, &state.config.net.trusted_proxies)),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        })
    }
}

/// The client's address. The socket's peer, unless the peer is a configured trusted proxy:
/// then `X-Forwarded-For` is read from the right (each proxy appends the address it saw),
/// skipping trusted proxies, and the first address no trusted proxy vouches for is the client.
/// Nothing a client sends is believed by default. An IPv4 address seen as IPv4-mapped IPv6
/// (what a `[::]` listener reports) is the IPv4 address, and a hop may carry a port
/// (`198.51.100.7:5678`, `[2001:db8::7]:443`).
pub fn client_ip(peer: IpAddr, headers: &http::HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut forwarded = headers.get_all("x-forwarded-for").iter().peekable();
    if !is_trusted(peer) {
        if forwarded.peek().is_some() {
            warn_untrusted_forwarding(peer);
        }
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        // A malformed hop was written by the client itself: stop at the last one vouched for.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One `X-Forwarded-For` hop: an address, with or without a port (IPv6 in brackets then).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
    bracketed
        .parse::<std::net::Ipv6Addr>()
        .ok()
        .map(|v6| canonical(IpAddr::V6(v6)))
}

/// Says once per process that `X-Forwarded-For` arrives from a peer it is not believed from:
/// usually a proxy missing from `TRUSTED_PROXIES`, which makes every user one address.
fn warn_untrusted_forwarding(peer: IpAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "requests carry X-Forwarded-For from a peer that is not in TRUSTED_PROXIES; \
             it is ignored (set TRUSTED_PROXIES to the proxy's address if this is your proxy)"
        );
    }
}

/// The verified claims of the request's bearer access token.
#[derive(Debug, Clone)]
pub struct BearerClaims(pub Claims);

impl FromRequestParts<AppState> for BearerClaims {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        Ok(Self(state.auth.authorize(header)?))
    }
}

/// The shared state, inside a server function.
pub fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| internal("server function context", "no AppState"))
}

/// Runs extractor `T` on the current request, inside a server function, keeping its typed
/// rejection (leptos_axum's own `extract` would flatten it into a string).
pub async fn extract<T>() -> Result<T, ApiError>
where
    T: FromRequestParts<AppState> + Send,
    T::Rejection: Into<ApiError> + Debug,
{
    let state = state()?;
    leptos_axum::extract_with_state::<Result<T, T::Rejection>, AppState>(&state)
        .await
        .map_err(|e| internal("extracting from the request", e))?
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [IpNet::parse("10.0.0.0/8").unwrap()];
        let spoofed = forwarded("1.1.1.1, 203.0.113.9");
        // Not configured: the peer, whatever the header says.
        assert_eq!(client_ip(proxy, &spoofed, &[]), proxy);
        let outsider: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(outsider, &spoofed, &trusted), outsider);
        // Through our proxy: the right-most address it did not add itself.
        assert_eq!(
            client_ip(proxy, &spoofed, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.9, 10.0.0.7"), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &forwarded("garbage"), &trusted), proxy);
    }

    #[test]
    fn a_mapped_peer_is_its_ipv4_address_and_hops_may_carry_ports() {
        let trusted = [IpNet::parse("127.0.0.1").unwrap()];
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let client = |xff: &str| client_ip(mapped, &forwarded(xff), &trusted).to_string();
        assert_eq!(client("198.51.100.7"), "198.51.100.7");
        assert_eq!(client("198.51.100.7:5678"), "198.51.100.7");
        assert_eq!(client("[2001:db8::7]:443"), "2001:db8::7");
        assert_eq!(client("[2001:db8::7]"), "2001:db8::7");
        assert_eq!(client("::ffff:198.51.100.9"), "198.51.100.9");
        // Not through a trusted proxy: the peer itself, as IPv4.
        let outsider: IpAddr = "::ffff:198.51.100.1".parse().unwrap();
        assert_eq!(
            client_ip(outsider, &forwarded("1.2.3.4"), &trusted).to_string(),
            "198.51.100.1"
        );
    }
}
