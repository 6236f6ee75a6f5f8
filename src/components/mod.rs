//! Reusable pieces of the UI: `RequireSession` (the guard of every protected route),
//! `SiteNav` (the header of guarded pages), `SessionSync` (keeps the session in step with
//! failed refreshes and other tabs), `PageTitle`, and `Hydrated` (form fields that wait for
//! hydration).

pub mod hydrated;
pub mod page_title;
pub mod reauth_dialog;
pub mod require_session;
pub mod session_sync;
pub mod site_nav;
