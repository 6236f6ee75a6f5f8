//! Shared server state, reachable from axum handlers (`State`) and from server functions and
//! SSR (Leptos context, provided by `leptos_routes`).

use crate::auth::jwt::{JwtKeys, NamedKey, TokenSettings};
use crate::auth::{
    login::ThrottlePolicy,
    password::PasswordHasher,
    rate_limit::{LoginRateLimiter, RatePolicy},
    refresh_token::{ChildKey, ChildKeys},
    revocation::RevokedSessions,
    secret_box::SecretBox,
    sessions::SessionPolicy,
    Auth,
};
use crate::db::Db;
use crate::server::config::Config;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::{sync::Arc, time::Duration};

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

impl AppState {
    /// Builds the state: the security core gets its keys and policies from `config`.
    pub fn new(config: Config, db: Db, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        let settings = TokenSettings {
            ttl_secs: config.access_token_ttl_secs,
            leeway_secs: config.jwt_leeway_secs,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        };
        let named: Vec<NamedKey<'_>> = config
            .jwt_keys
            .iter()
            .map(|k| NamedKey {
                kid: &k.id,
                secret: k.secret.expose(),
            })
            .collect();
        let (active, verify_only) = named
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("no signing key is configured"))?;
        let jwt = JwtKeys::new(*active, verify_only, settings)
            .map_err(|e| anyhow::anyhow!("a JWT key cannot be used as an HMAC key: {e}"))?;
        let child_keys = ChildKeys::new(
            ChildKey::from_secret(active.secret),
            verify_only
                .iter()
                .map(|k| ChildKey::from_secret(k.secret))
                .collect(),
        );
        let auth = Auth {
            db,
            jwt,
            child_keys,
            secret_box: SecretBox::derive(named.iter().map(|k| (k.kid, k.secret))),
            revoked: RevokedSessions::default(),
            sessions: SessionPolicy {
                absolute_ttl_secs: config.refresh_token_ttl_secs,
                idle_ttl_secs: config.refresh_idle_ttl_secs,
                reuse_grace_secs: config.refresh_reuse_grace_secs,
            },
            throttle: ThrottlePolicy {
                max_failures: config.login_max_failures,
                max_ip_failures: config.login_ip_max_failures,
                max_user_failures_per_hour: config.login_user_max_failures_per_hour,
                window_secs: config.login_throttle_window_secs,
            },
            hasher: PasswordHasher::new(
                config.password_hash_concurrency,
                Duration::from_millis(config.password_hash_wait_ms),
            )
            .map_err(|e| anyhow::anyhow!("preparing password hashing: {e}"))?,
            login_rate: LoginRateLimiter::new(RatePolicy {
                burst: config.login_rate_burst,
                per_minute: config.login_rate_per_min,
            }),
        };
        Ok(Self(Arc::new(Shared {
            leptos_options,
            auth: Arc::new(auth),
            config: Arc::new(config),
        })))
    }
}
