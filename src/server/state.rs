//! Shared server state, reachable from axum handlers (`State`) and from server functions and
//! SSR (Leptos context, provided by `leptos_routes_with_context`).

use crate::auth::{jwt::JwtKeys, sessions::SessionPolicy};
use crate::server::config::Config;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;
use std::sync::Arc;

/// Everything a request may need. Cheap to clone (pointers).
#[derive(Clone, FromRef)]
pub struct AppState {
    /// cargo-leptos site settings.
    pub leptos_options: LeptosOptions,
    /// SQLite pool.
    pub pool: SqlitePool,
    /// Access-token signer and verifier.
    pub jwt: Arc<JwtKeys>,
    /// The configuration read at start-up.
    pub config: Arc<Config>,
}

impl AppState {
    /// Builds the state; the JWT keys come from the configuration.
    pub fn new(
        config: Config,
        pool: SqlitePool,
        leptos_options: LeptosOptions,
    ) -> anyhow::Result<Self> {
        let jwt = JwtKeys::new(
            config.jwt_secret.expose(),
            config.access_token_ttl.as_secs(),
            config.jwt_leeway.as_secs(),
        )
        .map_err(|e| anyhow::anyhow!("JWT_SECRET cannot be used as an HMAC key: {e}"))?;
        Ok(Self {
            leptos_options,
            pool,
            jwt: Arc::new(jwt),
            config: Arc::new(config),
        })
    }

    /// Session lifetimes in the units the session code uses.
    pub fn session_policy(&self) -> SessionPolicy {
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        SessionPolicy {
            absolute_ttl_secs: secs(self.config.refresh_token_ttl),
            idle_ttl_secs: secs(self.config.refresh_idle_ttl),
            reuse_grace_secs: secs(self.config.refresh_reuse_grace),
        }
    }
}
