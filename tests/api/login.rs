//! `POST /api/login`: credentials, the token response, the cookie, throttling, the audit log.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::{header, StatusCode};
use serde_json::Value;

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("jwt part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

#[tokio::test]
async fn correct_credentials_return_an_access_token_and_set_the_refresh_cookie() {
    let app = spawn_app().await;

    let response = app.login_as(USER).await;

    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie_header(&response).expect("refresh cookie set");
    assert!(cookie.starts_with("__Host-jwt_auth_refresh="), "{cookie}");
    assert!(!cookie.contains("Domain"), "host-only: {cookie}");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let token = refresh_cookie(&response).unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "user");
    assert_eq!(body["role"], "user");
    assert_eq!(body["expires_in"], 900);
    assert!(body["jwt"]
        .as_str()
        .is_some_and(|j| j.split('.').count() == 3));
    assert!(
        !body.to_string().contains(&token),
        "the refresh token never appears in a body"
    );
    assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
}

#[tokio::test]
async fn the_access_token_is_hs256_with_the_documented_claims() {
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL_SECS", "120")]).await;

    let response = app.login_as(ADMIN).await;
    let body: Value = response.json().await.unwrap();
    let jwt = body["jwt"].as_str().unwrap();

    assert_eq!(
        decode_part(jwt, 0),
        serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "default"})
    );
    let claims = decode_part(jwt, 1);
    assert_eq!(claims["iss"], app.issuer());
    assert_eq!(claims["aud"], app.audience());
    let session: String = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(claims["sid"], session, "the token names its session");
    assert_eq!(claims["username"], "admin");
    assert_eq!(claims["role"], "admin");
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| s.parse::<i64>().is_ok()),
        "{claims}"
    );
    assert!(claims["jti"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert_eq!(body["expires_in"], 120);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;

    let wrong_password = app.login("user", "not-the-password").await;
    let unknown_user = app.login("nobody", "not-the-password").await;

    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_user.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie_header(&wrong_password).is_none());
    let a: Value = wrong_password.json().await.unwrap();
    let b: Value = unknown_user.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a["error"], "invalid_credentials");
}

#[tokio::test]
async fn usernames_are_case_insensitive_but_passwords_are_not() {
    let app = spawn_app().await;

    assert_eq!(
        app.login("USER", USER.password).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("user", "USER-SECRET-42").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn empty_credentials_are_a_validation_error() {
    let app = spawn_app().await;

    let response = app.login("", "").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(response).await, "invalid_request");
}

#[tokio::test]
async fn too_many_failures_throttle_the_username_with_retry_after() {
    let app = spawn_app_with(&[
        ("LOGIN_MAX_FAILURES", "3"),
        ("LOGIN_THROTTLE_WINDOW_SECS", "600"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.login("user", "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    // Even the right password is refused while throttled.
    let response = app.login_as(USER).await;

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(body["retry_after"], retry_after);
    // Other accounts are not affected.
    assert_eq!(app.login_as(ADMIN).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn throttling_ends_when_the_window_has_passed() {
    let app = spawn_app_with(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("LOGIN_THROTTLE_WINDOW_SECS", "600"),
    ])
    .await;
    for _ in 0..3 {
        app.login("user", "wrong").await;
    }
    assert_eq!(
        app.login_as(USER).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // The window started ten minutes and one second ago.
    sqlx::query("UPDATE login_failures SET window_start = window_start - 601")
        .execute(app.db())
        .await
        .unwrap();

    assert_eq!(app.login_as(USER).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    for _ in 0..2 {
        app.login("user", "wrong").await;
    }
    assert_eq!(app.login_as(USER).await.status(), StatusCode::OK);

    // Two more failures would make four in a row without the reset.
    for _ in 0..2 {
        assert_eq!(
            app.login("user", "wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(app.login_as(USER).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn parallel_guesses_cannot_exceed_the_limit() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;

    let guesses = (0..12).map(|i| {
        let app = &app;
        async move { app.login("user", &format!("guess-{i}")).await.status() }
    });
    let statuses = futures::future::join_all(guesses).await;

    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, throttled), (3, 9), "{statuses:?}");
}

#[tokio::test]
async fn the_audit_log_records_logins_without_secrets() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "1")]).await;
    let (_, refresh_token) = app.login_user().await;
    app.login("user", "wrong-password-xyz").await;
    app.login("user", "wrong-password-xyz").await;

    let db = app.db();
    type EventRow = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<EventRow> =
        sqlx::query_as("SELECT kind, username, ip, user_agent FROM auth_events WHERE kind LIKE 'login%' ORDER BY id")
            .fetch_all(db)
            .await
            .unwrap();

    let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(kinds, ["login_success", "login_failure", "login_throttled"]);
    assert!(rows.iter().all(|r| r.1.as_deref() == Some("user")));
    assert!(
        rows.iter().all(|r| r.2.as_deref() == Some("127.0.0.1")),
        "{rows:?}"
    );
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT kind || '|' || COALESCE(username, '') || '|' || COALESCE(family_id, '') || '|'
                || COALESCE(ip, '') || '|' || COALESCE(user_agent, '') FROM auth_events",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let everything = format!("{rows:?}{dump:?}");
    for secret in [USER.password, "wrong-password-xyz", refresh_token.as_str()] {
        assert!(!everything.contains(secret), "audit log holds a secret");
    }
}
