//! Memory that goes back to the OS when the load is gone.
//!
//! The large, short-lived allocations are the argon2 buffers (19 MiB per hashing slot). glibc
//! serves blocks above its mmap threshold (128 KiB at start) with `mmap` and unmaps them when
//! freed, but it raises that threshold to the size of each such block freed (up to 32 MiB),
//! after which 19 MiB blocks come from the heap and stay resident once freed: a server would
//! keep its peak login memory for ever. Setting the threshold explicitly turns that adjustment
//! off. The buffers themselves are freed after a second without hashing
//! (`PasswordHasher::release_idle`).

use crate::auth::Auth;
use std::{sync::Arc, time::Duration};

/// How long hashing must have been idle before its buffers are freed.
pub const HASH_MEMORY_IDLE: Duration = Duration::from_secs(1);

/// Sets the allocator up (once, at start-up, from `main`).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation parameters (it takes the arena lock
    // itself); any value is valid for M_MMAP_THRESHOLD up to 32 MiB on 64-bit.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Frees idle hashing memory every second, until aborted at shutdown.
pub async fn run(auth: Arc<Auth>) {
    let mut ticks = tokio::time::interval(HASH_MEMORY_IDLE);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let freed = auth.release_idle_hash_memory(HASH_MEMORY_IDLE);
        if freed > 0 {
            tracing::debug!(buffers = freed, "freed idle password-hashing memory");
        }
    }
}
