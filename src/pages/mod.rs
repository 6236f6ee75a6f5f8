//! One module per page.

/// `/login`.
pub mod login;
/// Anything unknown (HTTP 404).
pub mod not_found;
/// `/secret-random-number` (a lazy route: its code is a separate WASM chunk).
pub mod secret_number;
