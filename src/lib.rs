//! jwt-auth: JWT authorization done right, as one Leptos crate (SSR with axum + hydration).
//!
//! A tour, from the browser inwards:

/// The JSON API: server functions at `/api/*`, their DTOs and the error type (both targets).
pub mod api;
/// The app shell, routes and guards (both targets).
pub mod app;
/// Tokens, passwords, refresh-token sessions (server only).
#[cfg(feature = "ssr")]
pub mod auth;
/// Browser side: fetch wrapper with bearer tokens and single-flight refresh, token store, tabs.
pub mod client;
/// Reusable pieces of the UI: the session guard for routes, session synchronisation.
pub mod components;
/// SQLite: pool, migrations, queries (server only).
#[cfg(feature = "ssr")]
pub mod db;
/// The pages: login, secret number (lazy-loaded), not found.
pub mod pages;
/// Configuration, state, middleware and router (server only).
#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point, called by the generated JS once the WASM has loaded: attaches the
/// reactive app to the server-rendered HTML. `hydrate_lazy` because the secret page is a
/// lazy (split) route.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
