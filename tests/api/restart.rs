//! Committed state survives a restart: sessions, and the development JWT secret.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn sessions_and_the_generated_dev_secret_survive_a_restart() {
    // No JWT_SECRET: development mode generates one and keeps it in the data folder.
    let app = spawn_app_with(&[("JWT_SECRET", "")]).await;
    let (jwt, refresh_token) = app.login_user().await;
    let secret_file = app.data_dir().join("jwt-secret");
    assert!(secret_file.exists());

    let app = app.restart().await;

    // An access token issued before the restart still verifies…
    assert_eq!(app.get_secret(Some(&jwt)).await.status(), StatusCode::OK);
    // …and the session in SQLite goes on.
    assert_eq!(app.refresh(&refresh_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn production_mode_has_no_demo_users() {
    let app = spawn_app_with(&[("LEPTOS_ENV", "PROD")]).await;

    let response = app.login_as(USER).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Prepares a server (opening the database, checking for demo accounts) with `vars`, without
/// serving: the error a production start would stop with.
async fn prepare_with(vars: &std::collections::HashMap<String, String>) -> anyhow::Result<()> {
    let config = jwt_auth::server::config::Config::from_lookup(|name| vars.get(name).cloned())?;
    let options = leptos::config::LeptosOptions::builder()
        .output_name("jwt-auth")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build();
    jwt_auth::server::prepare(config, options).await.map(|_| ())
}

#[tokio::test]
async fn production_refuses_to_start_while_a_demo_account_exists() {
    // Development created the demo users in this database.
    let app = spawn_app().await;
    let mut production = app.vars.clone();
    production.insert("LEPTOS_ENV".into(), "PROD".into());

    let refused = format!("{:#}", prepare_with(&production).await.unwrap_err());

    assert!(refused.contains("demo account"), "{refused}");
    assert!(
        refused.contains("`jwt-auth user remove admin`"),
        "{refused}"
    );
    // The last administrator cannot be removed: the first real one comes first.
    let added = run_cli(
        &app,
        &["user", "add", "root", "--role", "admin"],
        "a long root passphrase\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    for name in ["admin", "user"] {
        let output = run_cli(&app, &["user", "remove", name], "");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    prepare_with(&production)
        .await
        .expect("starts without demo accounts");
}

#[tokio::test]
async fn production_also_refuses_an_unmarked_account_with_a_demo_password() {
    // An account from before demo accounts were marked: the name and the public password.
    let app = spawn_app_with(&[("LEPTOS_ENV", "PROD")]).await;
    let added = run_cli(&app, &["user", "add", "user"], "user-secret-42\n");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let refused = format!("{:#}", prepare_with(&app.vars).await.unwrap_err());

    assert!(refused.contains("`jwt-auth user remove user`"), "{refused}");
}

#[tokio::test]
async fn development_off_loopback_creates_no_demo_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(dir.path(), "open.db").await;
    let vars = std::collections::HashMap::from([
        ("DATABASE_URL".to_owned(), database.url.clone()),
        ("DATA_DIR".to_owned(), dir.path().display().to_string()),
        ("JWT_SECRET".to_owned(), TEST_SECRET.to_owned()),
        (
            "PUBLIC_ORIGIN".to_owned(),
            "http://192.0.2.10:3000".to_owned(),
        ),
    ]);
    let config =
        jwt_auth::server::config::Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("jwt-auth")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
        .build();

    jwt_auth::server::prepare(config, options).await.unwrap();

    let db = connect_any(&database.url).await;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}
