//! The HTTP server (server only): configuration, state, extractors, handlers, middleware, and
//! the axum router that serves pages (SSR), the API (server functions) and static files. This
//! is the edge: the only place that speaks HTTP and maps the core's errors onto the API's.

pub mod api_boundary;
pub mod cli;
pub mod config;
pub mod cookies;
pub mod csp;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod page_session;
pub mod revocation_sync;
pub mod state;

use crate::app::{shell, App};
use crate::auth::accounts;
use crate::server::{config::Config, state::AppState};
use anyhow::Context;
use axum::{middleware, routing::any, Router};
use http::{header, HeaderValue};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{future::Future, net::SocketAddr};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, services::ServeDir,
    set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

/// Opens the database (applying migrations), creates the demo users in development (and
/// refuses to start in production while one exists), loads the recent session revocations, and
/// returns the state every request shares.
pub async fn prepare(config: Config, leptos_options: LeptosOptions) -> anyhow::Result<AppState> {
    prepare_data_dir(&config.database_url)?;
    let db = crate::db::connect(&config.database_url)
        .await
        .context("cannot open the database (DATABASE_URL)")?;
    match config.mode {
        config::Mode::Development => {
            accounts::seed_demo_users(&db)
                .await
                .context("creating the demo users")?;
            tracing::warn!(
                "development mode: demo users user/user-secret-42 and admin/admin-secret-42 \
                 exist; set LEPTOS_ENV=PROD (with JWT_SECRET and PUBLIC_ORIGIN) for production"
            );
        }
        config::Mode::Production => {
            let demo = accounts::demo_accounts(&db)
                .await
                .context("checking for demo accounts")?;
            if let Some(name) = demo.first() {
                anyhow::bail!(
                    "refusing to start in production: the demo account {name:?} exists \
                     (its password is public); remove it with `jwt-auth user remove {name}`"
                );
            }
        }
    }
    crate::auth::password::warm_up();
    let state = AppState::new(config, db, leptos_options)?;
    revocation_sync::load(&state.auth)
        .await
        .context("loading the session revocations")?;
    Ok(state)
}

/// Creates the folder of the SQLite file, which SQLite will not do itself.
pub fn prepare_data_dir(database_url: &str) -> anyhow::Result<()> {
    if let Some(dir) = config::data_dir(database_url) {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    }
    Ok(())
}

/// The whole application as an axum router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    // HSTS only in production: on a development http:// origin it would be ignored at best.
    let production = state.config.mode == config::Mode::Production;
    let hsts = move |_: &http::Response<axum::body::Body>| {
        production.then(|| HeaderValue::from_static("max-age=31536000"))
    };
    let shell_options = state.leptos_options.clone();
    let options = &state.leptos_options;
    // The WASM, JS and CSS bundle, gzipped on the way out (about 60 % smaller). Only these
    // static files: compressing API responses that carry tokens next to reflected input would
    // invite BREACH-style attacks.
    let pkg_files = tower::ServiceBuilder::new()
        .layer(CompressionLayer::new())
        .service(ServeDir::new(format!(
            "{}/{}",
            options.site_root, options.site_pkg_dir
        )));
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), pkg_files)
        .leptos_routes(&state, routes, move || shell(shell_options.clone()))
        // Unknown API paths get a JSON 404 instead of the HTML not-found page.
        .route(
            "/api/{*rest}",
            any(|| async { http::StatusCode::NOT_FOUND }),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            page_session::page_session,
        ))
        // A panic is answered with a 500 (turned into JSON for the API) instead of a dropped
        // connection; api_boundary sits outside so it sees that 500 too.
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api_boundary::api_boundary,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sync = tokio::spawn(revocation_sync::run(state.auth.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sync.abort();
    served?;
    Ok(())
}
