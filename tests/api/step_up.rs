//! Sensitive changes need a recent authentication: `auth_time` in access tokens (kept by
//! refresh), `403 reauth_required` past `REAUTH_MAX_AGE_SECS`, and `POST /api/reauth`.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The endpoints that need a recent authentication, with a body that would otherwise work.
fn sensitive() -> Vec<(&'static str, Value)> {
    vec![
        ("/api/account/mfa/totp/setup", json!({})),
        ("/api/account/mfa/totp/enable", json!({"code": "123456"})),
        (
            "/api/account/mfa/totp/disable",
            json!({"password": "x", "code": "123456"}),
        ),
        (
            "/api/admin/users/lock",
            json!({"username": "user", "locked": true}),
        ),
        (
            "/api/admin/users/role",
            json!({"username": "user", "role": "admin"}),
        ),
        (
            "/api/admin/users/revoke-sessions",
            json!({"username": "user"}),
        ),
        ("/api/admin/users/mfa-reset", json!({"username": "user"})),
        ("/api/account/email", json!({"email": "new@example.com"})),
        ("/api/account/delete", json!({"password": "x"})),
        (
            "/api/admin/invitations",
            json!({"email": "new@example.com", "role": "user"}),
        ),
        ("/api/admin/invitations/revoke", json!({"id": "x"})),
        ("/api/admin/mail/retry", json!({"id": 1})),
    ]
}

#[tokio::test]
async fn tokens_carry_auth_time_and_a_refresh_keeps_it() {
    let app = spawn_app().await;
    let before = app.now();
    let (jwt, cookie) = app.tokens(USER).await;
    let auth_time = claims_of(&jwt)["auth_time"].as_i64().unwrap();
    assert!((before..=app.now()).contains(&auth_time));
    assert_eq!(claims_of(&jwt)["amr"], json!(["pwd"]));

    app.advance(120);
    let refreshed: Value = app.refresh(&cookie).await.json().await.unwrap();

    let claims = claims_of(refreshed["jwt"].as_str().unwrap());
    assert_eq!(claims["auth_time"], auth_time, "a refresh is not a login");
    assert!(claims["iat"].as_i64().unwrap() >= auth_time + 120);
}

#[tokio::test]
async fn an_old_authentication_is_refused_for_every_sensitive_change() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(ADMIN).await;

    app.advance(301);

    for (path, body) in sensitive() {
        let response = app.post_with(path, &body, &jwt).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(error_code(response).await, "reauth_required", "{path}");
    }
    // Reading is not a change.
    assert_eq!(
        app.get_with("/api/admin/users", &jwt).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_with("/api/account/sessions", &jwt).await.status(),
        StatusCode::OK
    );
    // Changing the password asks for the current one: that is the re-authentication.
    let changed = app
        .post_with(
            "/api/account/password",
            &json!({"current_password": ADMIN.password,
                    "new_password": "another long admin password"}),
            &jwt,
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_user_is_still_forbidden_from_admin_changes_before_any_reauth_question() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    app.advance(301);

    let response = app
        .post_with(
            "/api/admin/users/lock",
            &json!({"username": "admin", "locked": true}),
            &jwt,
        )
        .await;

    assert_eq!(error_code(response).await, "forbidden");
}

#[tokio::test]
async fn reauthenticating_gives_a_fresh_token_for_the_same_session() {
    let app = spawn_app_with(&[("REAUTH_MAX_AGE_SECS", "60")]).await;
    let (jwt, cookie) = app.tokens(ADMIN).await;
    app.advance(61);
    let refused = app
        .post_with(
            "/api/admin/users/revoke-sessions",
            &json!({"username": "user"}),
            &jwt,
        )
        .await;
    assert_eq!(error_code(refused).await, "reauth_required");

    let response = app
        .post_with("/api/reauth", &json!({"password": ADMIN.password}), &jwt)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        set_cookie_header(&response).is_none(),
        "the same session: no new cookie"
    );
    let body: Value = response.json().await.unwrap();
    let fresh = body["jwt"].as_str().unwrap();
    let (old, new) = (claims_of(&jwt), claims_of(fresh));
    assert_eq!(new["sid"], old["sid"]);
    assert!(new["auth_time"].as_i64().unwrap() >= old["auth_time"].as_i64().unwrap() + 61);
    let done = app
        .post_with(
            "/api/admin/users/revoke-sessions",
            &json!({"username": "user"}),
            fresh,
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    // The session remembers: its next refresh carries the new auth_time.
    let refreshed: Value = app.refresh(&cookie).await.json().await.unwrap();
    assert_eq!(
        claims_of(refreshed["jwt"].as_str().unwrap())["auth_time"],
        new["auth_time"]
    );
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'reauthenticated'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_wrong_password_at_reauth_is_refused_and_throttled_like_a_login() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let (jwt, _) = app.tokens(USER).await;

    for _ in 0..3 {
        let wrong = app
            .post_with("/api/reauth", &json!({"password": "not it"}), &jwt)
            .await;
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
        assert_eq!(error_code(wrong).await, "wrong_password");
    }
    let throttled = app
        .post_with("/api/reauth", &json!({"password": USER.password}), &jwt)
        .await;

    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    assert_eq!(
        app.login_as(USER).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn reauth_needs_a_valid_access_token() {
    let app = spawn_app().await;

    let response = app
        .post_json("/api/reauth", &json!({"password": USER.password}), None)
        .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "missing_token");
}
