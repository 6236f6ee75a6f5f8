//! Shared server state, reachable from axum handlers (`State`) and from server functions and
//! SSR (Leptos context, provided by `leptos_routes`).

use crate::auth::Auth;
use crate::db::Db;
use crate::server::config::Config;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Everything a request may need. One pointer: axum clones the state for every extractor and
/// middleware of every request, and `LeptosOptions` alone is a dozen strings.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points to.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub auth: Arc<Auth>,
    pub config: Arc<Config>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// For leptos_axum's handlers (file and error handler, SSR), which extract it.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl Shared {
    /// `LEPTOS_ENV=PROD`.
    pub fn production(&self) -> bool {
        self.config.mode == crate::server::config::Mode::Production
    }
}

impl AppState {
    /// Builds the state: the security core gets its keys and policies from `config`.
    pub fn new(config: Config, db: Db, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        let auth = Auth::new(db, &config.keys.named(), config.auth_settings()?)?;
        Ok(Self(Arc::new(Shared {
            leptos_options,
            auth: Arc::new(auth),
            config: Arc::new(config),
        })))
    }
}
