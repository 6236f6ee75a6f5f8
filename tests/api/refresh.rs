//! `POST /api/refresh`: rotation, reuse inside and after the grace window, concurrency, expiry.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Moves every rotation of the database `seconds` into the past.
async fn rotations_happened_ago(app: &TestApp, seconds: i64) {
    sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = rotated_at - ? WHERE rotated_at IS NOT NULL",
    )
    .bind(seconds)
    .execute(app.db())
    .await
    .unwrap();
}

async fn assert_refresh_refused(app: &TestApp, token: &str) {
    let response = app.refresh(token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        clears_cookie(&response),
        "a refused refresh clears the cookie"
    );
    assert_eq!(error_code(response).await, "invalid_refresh_token");
}

#[tokio::test]
async fn refresh_returns_a_new_access_token_and_rotates_the_cookie() {
    let app = spawn_app().await;
    let (_, first) = app.login_user().await;

    let response = app.refresh(&first).await;

    assert_eq!(response.status(), StatusCode::OK);
    let second = refresh_cookie(&response).expect("rotated cookie");
    assert_ne!(first, second);
    let header = set_cookie_header(&response).unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(header.contains(attribute), "{header}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "user");
    assert_eq!(body["role"], "user");
    assert_eq!(body["expires_in"], 900);
    assert!(!body.to_string().contains(&second));
    let jwt = body["jwt"].as_str().unwrap();
    assert_eq!(app.get_secret(Some(jwt)).await.status(), StatusCode::OK);
    // The new cookie refreshes again.
    assert_eq!(app.refresh(&second).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_a_sha256_hash_of_the_refresh_token_is_stored() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;

    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(app.db())
        .await
        .unwrap();

    assert_eq!(hashes, vec![Sha256::digest(token.as_bytes()).to_vec()]);
}

#[tokio::test]
async fn the_old_cookie_fails_once_the_grace_window_has_passed() {
    let app = spawn_app().await;
    let (_, old) = app.login_user().await;
    assert_eq!(app.refresh(&old).await.status(), StatusCode::OK);

    rotations_happened_ago(&app, 11).await;

    assert_refresh_refused(&app, &old).await;
}

#[tokio::test]
async fn reuse_inside_the_grace_window_keeps_the_user_logged_in() {
    let app = spawn_app().await;
    let (_, old) = app.login_user().await;
    let first = app.refresh(&old).await;
    let from_first = refresh_cookie(&first).unwrap();

    // A second tab, or a retried request, presents the old token again at once.
    let second = app.refresh(&old).await;

    assert_eq!(second.status(), StatusCode::OK);
    let from_second = refresh_cookie(&second).unwrap();
    assert_ne!(from_first, from_second);
    // Whichever cookie the browser kept, the session goes on.
    assert_eq!(app.refresh(&from_first).await.status(), StatusCode::OK);
    assert_eq!(app.refresh(&from_second).await.status(), StatusCode::OK);
    let revoked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(revoked, 0);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let app = spawn_app().await;
    let (_, stolen) = app.login_user().await;
    let newest = refresh_cookie(&app.refresh(&stolen).await).unwrap();
    // Another login of the same user is a different family and must survive.
    let (_, other_session) = app.login_user().await;
    rotations_happened_ago(&app, 60).await;

    assert_refresh_refused(&app, &stolen).await;

    // The legitimate newest token is dead too: the thief cannot have raced ahead with it.
    assert_refresh_refused(&app, &newest).await;
    assert_eq!(app.refresh(&other_session).await.status(), StatusCode::OK);
    let db = app.db();
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT revoked_reason FROM refresh_tokens WHERE revoked_at IS NOT NULL",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(reasons, ["reuse_detected"]);
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'reuse_detected'")
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn twenty_concurrent_refreshes_of_one_cookie_leave_a_working_session() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;

    let refreshes = (0..20).map(|_| {
        let (app, token) = (&app, token.clone());
        async move {
            let response = app.refresh(&token).await;
            (response.status(), refresh_cookie(&response))
        }
    });
    let results = futures::future::join_all(refreshes).await;

    assert!(
        results.iter().all(|(status, _)| !status.is_server_error()),
        "{results:?}"
    );
    assert!(
        results.iter().all(|(status, _)| *status == StatusCode::OK),
        "{results:?}"
    );
    // Every cookie handed out works afterwards.
    for (_, cookie) in &results {
        assert_eq!(
            app.refresh(cookie.as_deref().unwrap()).await.status(),
            StatusCode::OK
        );
    }
    let db = app.db();
    let (rows, families, revoked): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT family_id), COUNT(revoked_at) FROM refresh_tokens",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!((rows, families, revoked), (1 + 20 + 20, 1, 0));
}

#[tokio::test]
async fn a_missing_or_unknown_cookie_is_refused_and_cleared() {
    let app = spawn_app().await;

    let without_cookie = app
        .post_json("/api/refresh", &serde_json::json!({}), None)
        .await;
    assert_eq!(without_cookie.status(), StatusCode::UNAUTHORIZED);
    assert!(clears_cookie(&without_cookie));
    assert_eq!(error_code(without_cookie).await, "invalid_refresh_token");

    assert_refresh_refused(&app, "not-a-token").await;
    assert_refresh_refused(&app, &"A".repeat(43)).await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_expiry_and_rotation_never_extends_it() {
    let app = spawn_app_with(&[("REFRESH_TOKEN_TTL_SECS", "3600")]).await;
    let (_, first) = app.login_user().await;
    // The session started half an hour ago.
    sqlx::query("UPDATE refresh_tokens SET expires_at = expires_at - 1800")
        .execute(app.db())
        .await
        .unwrap();

    let response = app.refresh(&first).await;
    let header = set_cookie_header(&response).unwrap();
    let second = refresh_cookie(&response).unwrap();

    let max_age: i64 = header
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (1790..=1800).contains(&max_age),
        "cookie lives only the remaining time: {header}"
    );
    sqlx::query("UPDATE refresh_tokens SET expires_at = expires_at - 1800")
        .execute(app.db())
        .await
        .unwrap();
    assert_refresh_refused(&app, &second).await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(&[("REFRESH_IDLE_TTL_SECS", "600")]).await;
    let (_, token) = app.login_user().await;

    sqlx::query("UPDATE refresh_tokens SET last_used_at = last_used_at - 601")
        .execute(app.db())
        .await
        .unwrap();

    assert_refresh_refused(&app, &token).await;
}
