//! Reusable pieces of the UI: `RequireSession` (the guard of every protected route),
//! `SiteNav` (the header of guarded pages) and `SessionSync` (keeps the session in step with
//! failed refreshes and other tabs).

pub mod require_session;
pub mod session_sync;
pub mod site_nav;
