//! [`Counted`]: the proof a check of a secret takes. Its constructor is visible to the parent
//! module (`throttle`) only, so nothing but a counted attempt can make one.

/// Proof that an attempt has been counted. A check that skipped the throttle does not compile.
pub struct Counted(());

impl Counted {
    /// Made by `Auth::attempt` once the attempt is counted.
    pub(super) fn new() -> Self {
        Self(())
    }

    /// For unit tests of the checks themselves.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self(())
    }
}
