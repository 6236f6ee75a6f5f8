//! The set of revoked sessions whose access tokens could still be unexpired.
//!
//! Access tokens are checked without a database round trip, so logging out would otherwise
//! leave the access token working until its `exp`. Every revocation (logout, reuse detection,
//! an administrator) is added here the moment it commits, and the bearer check refuses tokens
//! whose `sid` is in the set: a hash lookup. An entry only needs to live as long as a token
//! issued just before the revocation: the token lifetime plus the leeway; older entries are
//! dropped, so the set stays as small as the revocations of the last few minutes.
//!
//! Several servers sharing one database learn each other's revocations from the
//! `session_revocations` table (see `server::revocation_sync`); the set itself is per process.

use std::collections::HashMap;
use std::sync::RwLock;

/// Revoked session ids with the time they were revoked.
#[derive(Debug, Default)]
pub struct RevokedSessions {
    entries: RwLock<HashMap<String, i64>>,
}

impl RevokedSessions {
    /// Records that `session_id` was revoked at `at`.
    pub fn insert(&self, session_id: &str, at: i64) {
        if let Ok(mut entries) = self.entries.write() {
            entries.entry(session_id.to_owned()).or_insert(at);
        }
    }

    /// Records several revocations (start-up load, another server's revocations).
    pub fn extend(&self, revoked: impl IntoIterator<Item = (String, i64)>) {
        if let Ok(mut entries) = self.entries.write() {
            for (id, at) in revoked {
                entries.entry(id).or_insert(at);
            }
        }
    }

    /// Whether tokens of `session_id` must be refused. A poisoned lock (a panic while writing)
    /// refuses every token rather than letting a revoked one through.
    pub fn contains(&self, session_id: &str) -> bool {
        self.entries
            .read()
            .map(|entries| entries.contains_key(session_id))
            .unwrap_or(true)
    }

    /// Drops revocations older than `cutoff`: no token they could refuse is still unexpired.
    pub fn prune(&self, cutoff: i64) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, at| *at >= cutoff);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_are_found_until_pruned() {
        let set = RevokedSessions::default();
        set.insert("a", 100);
        set.extend([("b".to_owned(), 200)]);
        assert!(set.contains("a") && set.contains("b") && !set.contains("c"));
        set.prune(150);
        assert!(!set.contains("a"));
        assert!(set.contains("b"));
        assert_eq!(set.len(), 1);
    }
}
