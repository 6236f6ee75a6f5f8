//! Authentication logic (server only): access tokens, password hashing, refresh-token sessions
//! and the bearer check. No HTTP here; `server::endpoints` wires these into the API.

pub mod bearer;
pub mod jwt;
pub mod password;
pub mod refresh_token;
pub mod sessions;

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch: the unit of every stored time and every token claim.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
