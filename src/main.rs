//! Server entry point: load configuration, then serve the app or run a `user` command.

use jwt_auth::server::{self, cli, config::Config};
use leptos::config::get_configuration;
use std::process::ExitCode;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal (production sets real environment variables).
    let _ = dotenvy::dotenv();
    server::memory::tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,jwt_auth=info,tower_http=warn".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jwt-auth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    match cli::parse(args)? {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        cli::Command::KeyGenerate => {
            println!("{}", server::config::generate_key());
            Ok(())
        }
        cli::Command::User(command) => {
            // Account commands need only the database, not the JWT secret.
            let database_url = std::env::var("DATABASE_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| server::config::DEFAULT_DATABASE_URL.to_owned());
            server::prepare_data_dir(&database_url)?;
            let rules = server::config::password_rules_from_env()?;
            let stdin = std::io::stdin().lock();
            let output = cli::run_user_command(command, &database_url, &rules, stdin).await?;
            println!("{output}");
            Ok(())
        }
        cli::Command::Serve => {
            let config = Config::from_env()?;
            let mut leptos_options = get_configuration(None)?.leptos_options;
            if leptos_options.output_name.is_empty() {
                leptos_options.output_name = "jwt-auth".into();
            }
            let addr = leptos_options.site_addr;
            let key_ids: Vec<&str> = config.keys.keys.iter().map(|k| k.id.as_str()).collect();
            tracing::info!(
                mode = ?config.mode,
                keys_from = ?config.keys.source,
                signing_key = %config.keys.active().id,
                verifying_keys = ?key_ids,
                database = %server::config::redact_database_url(&config.database.url),
                "starting"
            );
            let state = server::prepare(config, leptos_options).await?;
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (LEPTOS_SITE_ADDR): {e}"))?;
            tracing::info!("listening on http://{}", listener.local_addr()?);
            server::serve(state, listener, shutdown_signal()).await
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM so in-flight requests finish and SQLite closes cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
