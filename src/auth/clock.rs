//! Time, for every step of the core: one clock, passed along rather than read anywhere, so a
//! test can move it forward instead of sleeping (as Kanidm passes the current time into each
//! operation).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, by the system clock: the unit of every stored time and every
/// token claim.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The system clock, plus an offset that only tests set.
#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        unix_now().saturating_add(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock `secs` seconds ahead of the system clock (tests: "an hour later").
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_runs_ahead_by_the_offset() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(3600);
        let after = clock.now();
        assert!(
            (3600..3602).contains(&(after - before)),
            "{before} → {after}"
        );
    }
}
