//! Reusable pieces of the UI.

/// A route view that only exists for a live session (the "canLoad" guard).
pub mod require_session;
/// Keeps the session in step with the server's verdict, failed refreshes and other tabs.
pub mod session_sync;
