//! Committed state survives a restart: sessions, and the development JWT secret.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn sessions_and_the_generated_dev_secret_survive_a_restart() {
    // No JWT_SECRET: development mode generates one and keeps it in the data folder.
    let app = spawn_app_with(&[("JWT_SECRET", "")]).await;
    let (jwt, refresh_token) = app.login_user().await;
    let secret_file = app.db_path().with_file_name("jwt-secret");
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
