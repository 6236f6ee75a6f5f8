//! argon2id password hashing (OWASP's minimum: m = 19456 KiB, t = 2, p = 1), bounded.
//!
//! Each hash fills 19 MiB of memory and takes tens of milliseconds of CPU, so an unbounded
//! number of concurrent logins is a memory and CPU exhaustion attack. [`PasswordHasher`] runs at
//! most N of them at once (`PASSWORD_HASH_CONCURRENCY`), each on the blocking pool with one of
//! N memory buffers that are allocated once and reused: memory stays at N × 19 MiB whatever the
//! load. A request that cannot get a slot within a short wait is refused as busy *before* any
//! hashing, so a flood turns into fast 503s instead of a queue that grows without bound.
//!
//! Buffers that have not been used for a while are freed ([`PasswordHasher::release_idle`],
//! called every second by the server), so a server that is not logging anyone in right now
//! does not keep N × 19 MiB resident; the next login allocates again (a page-fault cost of a
//! few percent of the hash). The server makes sure the allocator really returns such large
//! blocks to the OS (`server::memory`).

use crate::auth::throttle::proof::Counted;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version, ARGON2ID_IDENT};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Memory cost in KiB (= argon2 blocks).
pub const M_COST_KIB: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Lanes.
pub const P_COST: u32 = 1;
/// Hash output length in bytes.
const OUTPUT_LEN: usize = 32;

/// Why no hash was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every slot stayed taken for the whole wait: the server is saturated with hashing.
    #[error("every password-hashing slot is busy")]
    Busy,
    /// argon2 refused its input (never for our own parameters).
    #[error("password hashing failed")]
    Failed,
}

fn params() -> Params {
    // The constants are valid argon2 parameters; `Params::DEFAULT` is the same triple.
    Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN)).unwrap_or(Params::DEFAULT)
}

/// One hashing slot's memory: `M_COST_KIB` argon2 blocks.
type Memory = Box<[Block]>;

fn new_memory() -> Memory {
    vec![Block::new(); M_COST_KIB as usize].into_boxed_slice()
}

/// How much hashing may run at once, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingPolicy {
    /// Hashes at once (`PASSWORD_HASH_CONCURRENCY`, ≥ 1); each holds 19 MiB.
    pub concurrency: usize,
    /// How long a caller waits for a slot before it is refused as busy (`PASSWORD_HASH_WAIT_MS`).
    pub wait: Duration,
}

/// Bounded, memory-reusing argon2id.
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    /// Buffers not in use; at most one per slot ever exists.
    memory: Arc<Mutex<Vec<Memory>>>,
    /// When a hash last finished.
    last_used: Arc<Mutex<Instant>>,
    wait: Duration,
    /// A hash of a random password, verified against when the username does not exist so that
    /// an unknown name costs the same time as a wrong password (no user-enumeration oracle).
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("free_slots", &self.slots.available_permits())
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// At most `policy.concurrency` (≥ 1) hashes at once; a caller waits at most `policy.wait`
    /// for a slot. Computes the dummy hash now, so the first unknown-user login is not faster.
    pub fn new(policy: HashingPolicy) -> Result<Self, HashError> {
        let HashingPolicy { concurrency, wait } = policy;
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let mut memory = new_memory();
        let dummy = hash_with(&random, &mut memory)?;
        Ok(Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            memory: Arc::new(Mutex::new(vec![memory])),
            last_used: Arc::new(Mutex::new(Instant::now())),
            wait,
            dummy,
        })
    }

    /// Waits (at most the configured wait) for a hashing slot; `Busy` when none frees up.
    /// Holding the slot first lets a caller do its bookkeeping before the hash is computed.
    pub async fn slot(&self) -> Result<Slot<'_>, HashError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        Ok(Slot {
            hasher: self,
            permit,
        })
    }

    /// Frees the unused buffers if no hash has finished for `idle`; returns how many. A hash
    /// running now keeps its buffer; the next one allocates a new one.
    pub fn release_idle(&self, idle: Duration) -> usize {
        let quiet = self
            .last_used
            .lock()
            .map(|at| at.elapsed() >= idle)
            .unwrap_or(false);
        if !quiet {
            return 0;
        }
        self.memory
            .lock()
            .map(|mut free| free.drain(..).count())
            .unwrap_or(0)
    }

    /// Whether `phc` is the hash of `published`, a password published with this software (the
    /// demo accounts'), checked at start-up. The one check that is nobody's login attempt, so
    /// it needs no throttle: the password is a constant, never user input.
    pub async fn is_published_password(
        &self,
        phc: String,
        published: &'static str,
    ) -> Result<bool, HashError> {
        let slot = self.slot().await?;
        slot.run(move |memory| Ok(verify_with(published.as_bytes(), &phc, memory)))
            .await
    }

    /// [`Slot::hash`] in the next free slot.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.slot().await?.hash(password).await
    }
}

/// A hashing slot: the right to compute one hash now.
pub struct Slot<'a> {
    hasher: &'a PasswordHasher,
    permit: OwnedSemaphorePermit,
}

impl Slot<'_> {
    /// Checks `password` against a stored PHC string. `phc = None` (unknown user) verifies
    /// against the dummy hash, taking the same time, and returns `false`. Only an attempt that
    /// was counted by the throttle can ask (`Counted`, see `auth::throttle`).
    pub async fn verify(
        self,
        _counted: &Counted,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, HashError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.hasher.dummy.clone());
        let verified = self
            .run(move |memory| Ok(verify_with(password.as_bytes(), &phc, memory)))
            .await?;
        Ok(verified && known)
    }

    /// Hashes `password` into a PHC string with a fresh random salt.
    pub async fn hash(self, password: String) -> Result<String, HashError> {
        self.run(move |memory| hash_with(password.as_bytes(), memory))
            .await
    }

    /// Runs `work` on the blocking pool with this slot's memory.
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut [Block]) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self.permit;
        let pool = self.hasher.memory.clone();
        let last_used = self.hasher.last_used.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A slot holder always finds a buffer or makes the one its slot is owed.
            let mut memory = take(&pool).unwrap_or_else(new_memory);
            let result = work(&mut memory);
            give_back(&pool, memory);
            if let Ok(mut at) = last_used.lock() {
                *at = Instant::now();
            }
            result
        })
        .await
        .map_err(|_| HashError::Failed)?
    }
}

fn take(pool: &Mutex<Vec<Memory>>) -> Option<Memory> {
    pool.lock().ok().and_then(|mut free| free.pop())
}

fn give_back(pool: &Mutex<Vec<Memory>>, memory: Memory) {
    if let Ok(mut free) = pool.lock() {
        free.push(memory);
    }
}

/// argon2id of `password` with a fresh salt, as a PHC string, computed in `memory`.
fn hash_with(password: &[u8], memory: &mut [Block]) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let params = params();
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(|_| HashError::Failed)?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| HashError::Failed)?,
        salt: Some(Salt::new(&salt).map_err(|_| HashError::Failed)?),
        hash: Some(Output::new(&out).map_err(|_| HashError::Failed)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, computed in `memory`. A malformed string,
/// or one whose cost exceeds the buffer (we never allocate more), never matches.
fn verify_with(password: &[u8], phc: &str, memory: &mut [Block]) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    if params.block_count() > memory.len() {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut out,
        memory,
    );
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher as _;

    fn hasher(concurrency: usize) -> PasswordHasher {
        PasswordHasher::new(HashingPolicy {
            concurrency,
            wait: Duration::from_secs(5),
        })
        .unwrap()
    }

    impl PasswordHasher {
        /// [`Slot::verify`] in the next free slot, as a counted attempt would.
        async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, HashError> {
            let counted = Counted::for_tests();
            self.slot().await?.verify(&counted, password, phc).await
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_cost() {
        let phc = hasher(1).hash("user-secret-42".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[tokio::test]
    async fn verify_accepts_only_the_right_password() {
        let hasher = hasher(1);
        let phc = hasher.hash("user-secret-42".into()).await.unwrap();
        let check = |pw: &str| hasher.verify(pw.into(), Some(phc.clone()));
        assert!(check("user-secret-42").await.unwrap());
        assert!(!check("user-secret-43").await.unwrap());
        assert!(!check("").await.unwrap());
    }

    #[tokio::test]
    async fn hashes_from_the_argon2_crate_itself_verify() {
        // Stored hashes made by the allocating API (and by earlier versions) keep working.
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"old-password")
            .unwrap()
            .to_string();
        assert!(hasher(1)
            .verify("old-password".into(), Some(phc))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_a_different_salt_each_time() {
        let hasher = hasher(1);
        let a = hasher.hash("x".into()).await.unwrap();
        let b = hasher.hash("x".into()).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn malformed_or_too_costly_stored_hashes_never_verify() {
        let hasher = hasher(1);
        for phc in [
            "not-a-phc-string",
            "",
            // Twice our memory cost: refused rather than allocated.
            "$argon2id$v=19$m=38912,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        ] {
            assert!(!hasher.verify("anything".into(), Some(phc.into())).await.unwrap());
        }
    }

    #[tokio::test]
    async fn an_unknown_user_costs_a_verification_and_fails() {
        assert!(!hasher(1)
            .verify("user-secret-42".into(), None)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_caller_that_cannot_get_a_slot_in_time_is_refused_as_busy() {
        let hasher = PasswordHasher::new(HashingPolicy {
            concurrency: 1,
            wait: Duration::from_millis(1),
        })
        .unwrap();
        let held = hasher.slots.clone().acquire_owned().await.unwrap();

        let refused = hasher.verify("x".into(), None).await;

        assert_eq!(refused, Err(HashError::Busy));
        drop(held);
        assert_eq!(hasher.verify("x".into(), None).await, Ok(false));
    }

    #[tokio::test]
    async fn memory_is_reused_never_more_than_one_buffer_per_slot() {
        let hasher = hasher(2);
        let phc = hasher.hash("pw".into()).await.unwrap();
        let checks = (0..8).map(|_| hasher.verify("pw".into(), Some(phc.clone())));
        assert!(futures::future::join_all(checks)
            .await
            .into_iter()
            .all(|r| r == Ok(true)));
        let buffers = hasher.memory.lock().unwrap().len();
        assert!((1..=2).contains(&buffers), "{buffers} buffers for 2 slots");
    }

    #[tokio::test]
    async fn idle_buffers_are_freed_and_made_again_when_needed() {
        let hasher = hasher(2);
        let phc = hasher.hash("pw".into()).await.unwrap();
        // Just used: nothing is released.
        assert_eq!(hasher.release_idle(Duration::from_secs(60)), 0);
        assert_eq!(hasher.release_idle(Duration::ZERO), 1);
        assert_eq!(hasher.memory.lock().unwrap().len(), 0);
        assert_eq!(hasher.verify("pw".into(), Some(phc)).await, Ok(true));
        assert_eq!(hasher.memory.lock().unwrap().len(), 1);
    }
}
