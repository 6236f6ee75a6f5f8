//! The HTTP server (server only): configuration, state, extractors, handlers, middleware, and
//! the axum router that serves pages (SSR), the API (server functions) and static files. This
//! is the edge: the only place that speaks HTTP and maps the core's errors onto the API's.

pub mod api_boundary;
pub mod cli;
pub mod config;
pub mod connection;
pub mod cookies;
pub mod csp;
pub mod device;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod headers;
pub mod hot_path;
pub mod memory;
pub mod net;
pub mod page_session;
pub mod shell;
pub mod state;

use crate::api::ApiError;
use crate::app::App;
use crate::server::shell::shell;
use crate::server::{config::Config, state::AppState};
use anyhow::Context;
use axum::{
    extract::ConnectInfo,
    middleware,
    response::{IntoResponse, Response},
    routing::{any, get},
    Router,
};
use futures::future::Either;
use http::{header, HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper_util::{rt::TokioIo, rt::TokioTimer, server::graceful::GracefulShutdown};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list_with_exclusions, LeptosRoutes};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tower::Service;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    services::ServeDir,
    timeout::TimeoutLayer,
    trace::{DefaultOnFailure, TraceLayer},
};

/// Opens the database (applying migrations), creates the demo users in development (and
/// refuses to start in production while one exists), loads the recent session revocations, and
/// returns the state every request shares.
pub async fn prepare(config: Config, leptos_options: LeptosOptions) -> anyhow::Result<AppState> {
    prepare_data_dir(&config.database.url)?;
    let db = crate::db::connect(&config.database.url)
        .await
        .context("cannot open the database (DATABASE_URL)")?;
    let rekeyed = db
        .upgrade_username_keys()
        .await
        .context("recomputing the canonical usernames")?;
    if rekeyed > 0 {
        tracing::info!(
            accounts = rekeyed,
            "usernames keyed in their new canonical form"
        );
    }
    let mode = config.mode;
    let loopback = leptos_options.site_addr.ip().is_loopback();
    let state = AppState::new(config, db, leptos_options)?;
    let auth = &state.auth;
    match mode {
        // Demo accounts have published passwords: only a server nobody else can reach gets them.
        config::Mode::Development if !loopback => tracing::warn!(
            "development mode on a non-loopback address: no demo accounts are created \
             (their passwords are public); create accounts with `jwt-auth user add`"
        ),
        config::Mode::Development => {
            auth.seed_demo_users()
                .await
                .context("creating the demo users")?;
            tracing::warn!(
                "development mode: demo users user/user-secret-42 and admin/admin-secret-42 \
                 exist; set LEPTOS_ENV=PROD (with JWT_SECRET and PUBLIC_ORIGIN) for production"
            );
        }
        config::Mode::Production => {
            let demo = auth
                .demo_accounts()
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
    let (resealed, lost) = state
        .auth
        .reseal_totp_factors()
        .await
        .context("sealing TOTP secrets under the active key")?;
    if resealed > 0 {
        tracing::info!(resealed, "TOTP secrets sealed again under the active key");
    }
    if lost > 0 {
        tracing::error!(
            users = lost,
            "TOTP secrets sealed by a key that is no longer configured cannot be opened; \
             reset those users' second factor (`jwt-auth user mfa-reset NAME`) or restore the key"
        );
    }
    state
        .auth
        .load_revocations()
        .await
        .context("loading the session revocations")?;
    Ok(state)
}

/// Creates the folder of the SQLite file, which SQLite will not do itself.
pub fn prepare_data_dir(database_url: &str) -> anyhow::Result<()> {
    if crate::db::is_postgres(database_url) {
        return Ok(());
    }
    if let Some(dir) = config::default_data_dir(database_url) {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    }
    Ok(())
}

/// The whole application as an axum router.
pub fn router(state: AppState) -> Router {
    // The hot path is a plain handler (see `hot_path`), not leptos_axum's server-function route.
    let routes = generate_route_list_with_exclusions(App, Some(vec![hot_path::PATH.into()]));
    let limits = state.config.limits;
    let shell_options = state.leptos_options.clone();
    let options = &state.leptos_options;
    // The WASM, JS and CSS bundle: the brotli or gzip copies `scripts/run` made at build time
    // (scripts/lib/compress.mjs) when the browser accepts them, else compressed on the way out
    // (a development build has no copies). Only these static files: compressing API responses
    // that carry tokens next to reflected input would invite BREACH-style attacks.
    let pkg_files = tower::ServiceBuilder::new()
        .layer(CompressionLayer::new())
        .service(
            ServeDir::new(format!("{}/{}", options.site_root, options.site_pkg_dir))
                .precompressed_br()
                .precompressed_gzip(),
        );
    let app = Router::new()
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
        // The whole request, body upload included, within REQUEST_TIMEOUT_SECS; the API's 408
        // is JSON like every other API error.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .layer(middleware::from_fn(api_boundary::json_timeouts))
        .layer(middleware::map_response_with_state(
            state.clone(),
            headers::layer,
        ))
        // 5xx answers are logged where they arise (with the cause); a 503 under load is
        // expected and must not turn a flood of requests into a flood of log lines.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        );
    Router::new()
        .route(
            hot_path::PATH,
            get(hot_path::secret_number).fallback(hot_path::method_not_allowed),
        )
        .merge(app)
        .with_state(state)
}

/// The answer when every in-flight slot is taken (`MAX_IN_FLIGHT_REQUESTS`, counted in
/// `serve`): the API's JSON 503, or a plain one for pages, with `Retry-After`.
fn overloaded_response(path: &str) -> Response {
    let busy = ApiError::server_busy(1);
    if path.starts_with(api_boundary::API_PREFIX) {
        return busy.into_response();
    }
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, busy.message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Serves `state` on `listener` until `shutdown` completes, then lets open requests finish
/// for at most `SHUTDOWN_GRACE_SECS` before closing what is left.
///
/// The accept loop is hyper's HTTP/1.1 server directly (axum::serve exposes none of this): a
/// client must send its request headers within `HEADER_READ_TIMEOUT_SECS` (which also closes
/// idle keep-alive connections), and at most `MAX_CONNECTIONS` are open at once (more wait in
/// the kernel's accept queue, they are not dropped).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = state.config.limits;
    let mut background = vec![
        tokio::spawn(state.auth.clone().follow_revocations()),
        tokio::spawn(state.auth.clone().keep_retention()),
        tokio::spawn(memory::run(state.auth.clone())),
    ];
    if let Some(mailer) = crate::mail::Mailer::new(&state.config.mail)? {
        background.push(tokio::spawn(crate::mail::run(state.auth.clone(), mailer)));
    }
    let app = router(state.clone());
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight_requests));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = connection::PerAddress::new(
        limits.max_connections_per_ip,
        state.config.net.trusted_proxies.clone(),
    );
    let idle = Duration::from_secs(limits.idle_timeout_secs);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // Reap finished connections so the set stays as small as what is open.
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(held) = per_address.admit(peer.ip()) else {
            // This address already holds its share: closed at once, its slot free again.
            tracing::debug!(ip = %peer.ip(), "connection refused: too many from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let stream = connection::WriteProgress::new(stream, idle);
        let app = app.clone();
        let state = state.clone();
        let in_flight = in_flight.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            // Past the cap of requests in flight, answer 503 at once instead of queueing
            // without bound. The permit lives until the response is produced.
            let permit = in_flight.clone().try_acquire_owned();
            let path = request.uri().path();
            let answered = match &permit {
                Err(_) => Some(overloaded_response(path)),
                Ok(_) if hot_path::is_hot(request.method(), path) => {
                    Some(hot_path::answer(&state, request.headers()))
                }
                Ok(_) => None,
            };
            let response = match answered {
                Some(response) => Either::Left(std::future::ready(Ok(response))),
                None => {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    Either::Right(app.clone().call(request.map(axum::body::Body::new)))
                }
            };
            async move {
                let response = response.await;
                drop(permit);
                response
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop((slot, held));
        });
    }

    drop(listener);
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "shutdown grace period over: closing connections"
        );
    }
    connections.abort_all();
    for task in background {
        task.abort();
    }
    Ok(())
}
