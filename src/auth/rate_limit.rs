//! A token bucket per client address for login attempts: the defence against password
//! spraying (one address trying a few passwords against many usernames), which per-username
//! counters cannot see.
//!
//! Kept in memory: a refused attempt costs no database write, and the map is bounded (idle
//! buckets, which are full again, are dropped when it grows; past the bound new addresses
//! share one overflow bucket rather than growing it further). Each server instance limits on
//! its own, so N instances behind a balancer allow N times the rate; the database-backed
//! failure counters (`auth::login`) are shared and stay exact.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most addresses tracked at once.
const MAX_TRACKED: usize = 100_000;

/// Bucket size and refill rate, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePolicy {
    /// Attempts one address may make at once.
    pub burst: u32,
    /// Attempts per minute it regains.
    pub per_minute: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The per-address buckets: an address (an IPv6 client's /64) has a bucket of its own, keyed
/// by the network and its prefix length, and an IPv6 client's /56 and /48 have bigger ones.
#[derive(Debug)]
pub struct LoginRateLimiter {
    policy: RatePolicy,
    buckets: Mutex<HashMap<(IpAddr, u8), Bucket>>,
}

/// The wider IPv6 networks a client is also bucketed by, and how many times the one-address
/// bucket each holds: whoever holds a /48 (a site, typically) controls 65,536 /64s, so /64
/// buckets alone would not bound them.
const WIDER_V6: [(u8, u32); 2] = [(56, 4), (48, 16)];

impl LoginRateLimiter {
    pub fn new(policy: RatePolicy) -> Self {
        Self {
            policy,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill_per_sec(&self) -> f64 {
        f64::from(self.policy.per_minute) / 60.0
    }

    /// Takes one attempt from each bucket of `ip` (its address or /64; an IPv6 client's /56 and
    /// /48 too) at `now`. `Err(seconds)`: one is empty, retry after that.
    pub fn check_all(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let ip = limit_key(ip);
        let mut keys = vec![(ip, 0, 1)];
        if let IpAddr::V6(v6) = ip {
            for (prefix, scale) in WIDER_V6 {
                keys.push((network(v6, prefix), prefix, scale));
            }
        }
        for (network, prefix, scale) in keys {
            self.check((network, prefix), scale, now)?;
        }
        Ok(())
    }

    /// Takes one attempt from `key`'s bucket (`scale` times the configured size) at `now`.
    fn check(&self, key: (IpAddr, u8), scale: u32, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let burst = f64::from(self.policy.burst.max(1)) * f64::from(scale);
        let rate = self.refill_per_sec() * f64::from(scale);
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&key) {
            buckets.retain(|_, b| {
                b.tokens + rate * now.saturating_duration_since(b.updated).as_secs_f64() < burst
            });
        }
        let key = if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&key) {
            (IpAddr::from([0, 0, 0, 0]), 0)
        } else {
            key
        };
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + rate * elapsed).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate > 0.0 {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        } else {
            Err(60)
        }
    }
}

/// The address a limit or a counter applies to: an IPv6 client controls a whole /64, so that
/// is what counts as one address (an IPv4-mapped address is its IPv4 address).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => network(v6, 64),
        },
    }
}

/// The /`prefix` network of `v6`.
fn network(v6: std::net::Ipv6Addr, prefix: u8) -> IpAddr {
    let bits = u128::from(v6);
    let mask = if prefix == 0 {
        0
    } else {
        !0u128 << (128 - u32::from(prefix))
    };
    IpAddr::from(std::net::Ipv6Addr::from(bits & mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_allowed_then_refills_at_the_rate() {
        let limiter = LoginRateLimiter::new(RatePolicy {
            burst: 3,
            per_minute: 60,
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_all(ip, start), Ok(()));
        }
        assert_eq!(limiter.check_all(ip, start), Err(1));
        // Another address has its own bucket.
        assert_eq!(
            limiter.check_all("192.0.2.2".parse().unwrap(), start),
            Ok(())
        );
        assert_eq!(
            limiter.check_all(ip, start + Duration::from_secs(1)),
            Ok(())
        );
        assert!(limiter
            .check_all(ip, start + Duration::from_secs(1))
            .is_err());
    }

    #[test]
    fn an_ipv6_site_is_bucketed_by_its_slash_56_and_slash_48_too() {
        let limiter = LoginRateLimiter::new(RatePolicy {
            burst: 1,
            per_minute: 1,
        });
        let start = Instant::now();
        // 16 different /64s of one /48, in 16 different /56s: each /64 has one attempt, the
        // /56s four each, the /48 sixteen in all.
        for i in 0..16u16 {
            let ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0x7, i << 8, 0, 0, 0, 1);
            assert_eq!(limiter.check_all(IpAddr::V6(ip), start), Ok(()), "{ip}");
        }
        let seventeenth = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0x7, 0x1001, 0, 0, 0, 1);
        assert!(limiter.check_all(IpAddr::V6(seventeenth), start).is_err());
        // Five /64s of one /56: the /56's bucket (four) refuses the fifth.
        for i in 0..4u16 {
            let ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0x8, i, 0, 0, 0, 1);
            assert_eq!(limiter.check_all(IpAddr::V6(ip), start), Ok(()), "{ip}");
        }
        let fifth = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0x8, 4, 0, 0, 0, 1);
        assert!(limiter.check_all(IpAddr::V6(fifth), start).is_err());
    }

    #[test]
    fn an_ipv6_client_counts_as_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(limit_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
