//! argon2id password hashing (OWASP's minimum: m = 19456 KiB, t = 2, p = 1).
//!
//! Hashing costs ~tens of milliseconds of CPU, so the async wrappers run it on the blocking pool
//! instead of stalling the runtime's worker threads.

use argon2::{
    password_hash::{PasswordHasher, PasswordVerifier},
    Algorithm, Argon2, Params, Version,
};
use std::sync::LazyLock;

/// Memory cost in KiB.
pub const M_COST_KIB: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Parallelism.
pub const P_COST: u32 = 1;

fn argon2() -> Argon2<'static> {
    // The constants are valid argon2 parameters; `Params::DEFAULT` is the same triple.
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the username does not exist so that an
/// unknown name costs the same time as a wrong password (no user-enumeration timing oracle).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut random = [0u8; 32];
    rand::fill(&mut random);
    hash(&random).unwrap_or_default()
});

/// Hashes a password into a PHC string with a fresh random salt.
pub fn hash(password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    Ok(argon2().hash_password(password)?.to_string())
}

/// Checks a password against a PHC string (constant-time comparison inside argon2).
pub fn verify(password: &[u8], phc: &str) -> bool {
    argon2().verify_password(password, phc).is_ok()
}

/// Computes the dummy hash now (at start-up) so the first unknown-user login is not faster.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Verifies on the blocking pool. `phc = None` (unknown user) verifies against the dummy hash
/// and always returns `false`.
pub async fn verify_off_runtime(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(password.as_bytes(), &phc),
        None => {
            let _ = verify(password.as_bytes(), &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Hashes on the blocking pool.
pub async fn hash_off_runtime(password: String) -> Result<String, argon2::password_hash::Error> {
    tokio::task::spawn_blocking(move || hash(password.as_bytes()))
        .await
        .unwrap_or(Err(argon2::password_hash::Error::Crypto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_required_cost() {
        let phc = hash(b"user-secret-42").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn verify_accepts_only_the_right_password() {
        let phc = hash(b"user-secret-42").unwrap();
        assert!(verify(b"user-secret-42", &phc));
        assert!(!verify(b"user-secret-43", &phc));
        assert!(!verify(b"", &phc));
    }

    #[test]
    fn same_password_gets_a_different_salt_each_time() {
        assert_ne!(hash(b"x").unwrap(), hash(b"x").unwrap());
    }

    #[test]
    fn malformed_stored_hash_never_verifies() {
        assert!(!verify(b"anything", "not-a-phc-string"));
        assert!(!verify(b"anything", ""));
    }

    #[tokio::test]
    async fn unknown_user_path_runs_the_dummy_hash_and_fails() {
        assert!(!verify_off_runtime("user-secret-42".into(), None).await);
        assert!(!DUMMY_HASH.is_empty());
    }
}
