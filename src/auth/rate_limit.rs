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

/// The per-address buckets.
#[derive(Debug)]
pub struct LoginRateLimiter {
    policy: RatePolicy,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

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

    /// Takes one attempt from `ip`'s bucket at `now`. `Err(seconds)`: empty, retry after that.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let burst = f64::from(self.policy.burst.max(1));
        let rate = self.refill_per_sec();
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            buckets.retain(|_, b| {
                b.tokens + rate * now.saturating_duration_since(b.updated).as_secs_f64() < burst
            });
        }
        let key = if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            IpAddr::from([0, 0, 0, 0])
        } else {
            ip
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
/// is what counts as one address.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
    }
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
            assert_eq!(limiter.check(ip, start), Ok(()));
        }
        assert_eq!(limiter.check(ip, start), Err(1));
        // Another address has its own bucket.
        assert_eq!(limiter.check("192.0.2.2".parse().unwrap(), start), Ok(()));
        assert_eq!(limiter.check(ip, start + Duration::from_secs(1)), Ok(()));
        assert!(limiter.check(ip, start + Duration::from_secs(1)).is_err());
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
