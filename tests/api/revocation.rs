//! Ending a session ends its access tokens at once (the in-memory revocation set), without a
//! database round trip on the protected call.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

async fn assert_invalid_token(app: &TestApp, jwt: &str) {
    let response = app.get_secret(Some(jwt)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_token");
}

#[tokio::test]
async fn every_access_token_of_a_session_names_it_in_sid() {
    let app = spawn_app().await;
    let (first, refresh_token) = app.login_user().await;
    let body: Value = app.refresh(&refresh_token).await.json().await.unwrap();
    let (_, other_session) = app.login_user().await;
    let other: Value = app.refresh(&other_session).await.json().await.unwrap();

    let sid = claims_of(&first)["sid"].as_str().unwrap().to_owned();
    assert!(!sid.is_empty());
    assert_eq!(
        claims_of(body["jwt"].as_str().unwrap())["sid"],
        sid.as_str()
    );
    assert_ne!(
        claims_of(other["jwt"].as_str().unwrap())["sid"],
        sid.as_str()
    );
}

#[tokio::test]
async fn logout_refuses_the_sessions_access_token_at_the_next_request() {
    let app = spawn_app().await;
    let (jwt, refresh_token) = app.login_user().await;
    let (other_jwt, _) = app.login_user().await;
    assert_eq!(app.get_secret(Some(&jwt)).await.status(), StatusCode::OK);

    assert_eq!(
        app.logout(&refresh_token).await.status(),
        StatusCode::NO_CONTENT
    );

    assert_invalid_token(&app, &jwt).await;
    // The same user's other session is unaffected.
    assert_eq!(
        app.get_secret(Some(&other_jwt)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn reuse_detection_refuses_every_access_token_of_the_session() {
    let app = spawn_app().await;
    let (first_jwt, stolen) = app.login_user().await;
    let response = app.refresh(&stolen).await;
    let body: Value = response.json().await.unwrap();
    let newest_jwt = body["jwt"].as_str().unwrap().to_owned();
    app.advance(60);

    assert_eq!(
        app.refresh(&stolen).await.status(),
        StatusCode::UNAUTHORIZED
    );

    assert_invalid_token(&app, &first_jwt).await;
    assert_invalid_token(&app, &newest_jwt).await;
}

#[tokio::test]
async fn revocations_are_remembered_across_a_restart() {
    let app = spawn_app().await;
    let (jwt, refresh_token) = app.login_user().await;
    app.logout(&refresh_token).await;

    let app = app.restart().await;

    assert_invalid_token(&app, &jwt).await;
}

#[tokio::test]
async fn removing_a_user_from_the_command_line_refuses_their_tokens_within_a_second() {
    let app = spawn_app().await;
    let (jwt, refresh_token) = app.login_user().await;
    let admin: Value = app.login_as(ADMIN).await.json().await.unwrap();
    let admin_jwt = admin["jwt"].as_str().unwrap();

    // Another process (the CLI) writes the revocation; the running server polls for it.
    let output = run_cli(&app, &["user", "remove", "user"], "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let removed_at = Instant::now();

    let deadline = removed_at + Duration::from_secs(3);
    loop {
        let status = app.get_secret(Some(&jwt)).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "still {status} after 3 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        removed_at.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        removed_at.elapsed()
    );
    assert_eq!(
        app.refresh(&refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_secret(Some(admin_jwt)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_revocation_that_committed_late_still_reaches_a_running_server() {
    let app = spawn_app().await;
    let (jwt, _) = app.login_user().await;
    let session = claims_of(&jwt)["sid"].as_str().unwrap().to_owned();

    // Another process's transaction that took its time: stamped well before it became
    // visible (older than any reach-back of a poll by time).
    sqlx::query("INSERT INTO session_revocations (session_id, revoked_at) VALUES ($1, $2)")
        .bind(&session)
        .bind(app.now() - 120)
        .execute(app.db())
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if app.get_secret(Some(&jwt)).await.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "not refused within 1 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
