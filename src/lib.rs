//! jwt-auth: JWT authorization done right, as one Leptos crate (SSR with axum + hydration).
//!
//! A tour, from the browser inwards (each module's own docs say more):
//!
//! | module       | target | owns                                                              |
//! |--------------|--------|-------------------------------------------------------------------|
//! | `routes`     | both   | every page path; depends on nothing                               |
//! | `model`      | both   | shared values: `Role`, `Amr`, `RevokeReason`, `EventKind`, `ClientInfo` |
//! | `app`        | both   | the HTML shell, the router and its guards                         |
//! | `pages`      | both   | one module per page (the secret page is a lazy route)             |
//! | `components` | both   | the route guard and the session bookkeeping                       |
//! | `client`     | both   | browser: fetch wrapper (bearer, single-flight refresh), tokens, tabs |
//! | `api`        | both   | the JSON API: server functions, their DTOs, the error contract    |
//! | `server`     | server | configuration, state, extractors, handlers, middleware, CLI       |
//! | `auth`       | server | the security core: tokens, passwords, sessions, throttling (no HTTP) |
//! | `db`         | server | storage: one trait per concern, SQL written once, SQLite and PostgreSQL (no HTTP) |
//! | `mail`       | server | delivering the outbox: templates, SMTP (lettre, rustls), the development folder |

// The account and admin pages are views of many sections; their nested view types need more
// than the default depth to lay out in an optimised build.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod client;
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod mail;
pub mod model;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point, called by the generated JS once the WASM has loaded: attaches the
/// reactive app to the server-rendered HTML. `hydrate_lazy` because the secret page is a
/// lazy route (a split chunk in `--split` builds).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
