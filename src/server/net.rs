//! Addresses and origins as the configuration names them: `TRUSTED_PROXIES` ranges and
//! `PUBLIC_ORIGIN`.

use std::{fmt, net::IpAddr};

/// An address range (`10.0.0.0/8`, `2001:db8::/32`) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(raw: &str) -> Option<Self> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (raw.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let mask = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (width - bits))
                    & (if width == 128 {
                        !0
                    } else {
                        (1u128 << width) - 1
                    })
            }
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(self.prefix.into(), 32);
                u128::from(u32::from(net)) & m == u128::from(u32::from(ip)) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(self.prefix.into(), 128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

/// A web origin, `scheme://host[:port]`, normalised the way browsers send it in `Origin`
/// (lower case, no default port, no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin(String);

impl PublicOrigin {
    /// Parses `http(s)://host[:port]` (a trailing `/` is allowed).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().trim_end_matches('/');
        let (scheme, authority) = raw.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https")
            || authority.is_empty()
            || authority.contains(['/', '?', '#', '@', ' '])
        {
            return None;
        }
        let authority = authority.to_ascii_lowercase();
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
        Some(Self(format!("{scheme}://{authority}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a request's `Origin` header is this origin.
    pub fn matches(&self, origin: &str) -> bool {
        Self::parse(origin).is_some_and(|o| o == *self)
    }

    /// The host, without scheme or port (an IPv6 address without its brackets).
    pub fn host(&self) -> &str {
        let authority = self.0.split_once("://").map_or(self.0.as_str(), |(_, a)| a);
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or(v6);
        }
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    }

    /// Whether the host is an IP address rather than a name.
    pub fn host_is_ip(&self) -> bool {
        self.host().parse::<std::net::IpAddr>().is_ok()
    }

    /// Whether browsers reach us over HTTPS (so HSTS applies).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for PublicOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_knows_its_host() {
        let host = |o: &str| PublicOrigin::parse(o).unwrap().host().to_owned();
        assert_eq!(host("https://auth.example.com"), "auth.example.com");
        assert_eq!(host("http://localhost:3000"), "localhost");
        assert_eq!(host("http://127.0.0.1:3000"), "127.0.0.1");
        assert_eq!(host("http://[::1]:3000"), "::1");
        assert!(PublicOrigin::parse("http://[::1]:3000")
            .unwrap()
            .host_is_ip());
        assert!(!PublicOrigin::parse("https://example.com")
            .unwrap()
            .host_is_ip());
    }

    #[test]
    fn origins_compare_as_browsers_send_them() {
        let origin = PublicOrigin::parse("http://127.0.0.1:3000").unwrap();
        assert!(origin.matches("http://127.0.0.1:3000"));
        for other in [
            "https://127.0.0.1:3000",
            "http://127.0.0.1:3001",
            "http://localhost:3000",
            "http://evil.example:3000",
            "null",
            "",
        ] {
            assert!(!origin.matches(other), "{other}");
        }
        for bad in [
            "127.0.0.1:3000",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://u@h",
        ] {
            assert!(PublicOrigin::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ranges_contain_their_addresses_only() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
    }
}
