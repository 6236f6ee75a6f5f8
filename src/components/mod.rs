//! Reusable pieces of the UI: `RequireSession` (the guard of every protected route) and
//! `SessionSync` (keeps the session in step with failed refreshes and other tabs).

pub mod require_session;
pub mod session_sync;
