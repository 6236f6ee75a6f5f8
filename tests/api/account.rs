//! `/api/account/…`: a user's own sessions and password.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0";

async fn sessions(app: &TestApp, jwt: &str) -> Vec<Value> {
    let response = app.get_with("/api/account/sessions", jwt).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["sessions"].as_array().unwrap().clone()
}

fn sid(jwt: &str) -> String {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_sessions_list_shows_each_live_session_with_its_device() {
    let app = spawn_app().await;
    let (laptop, _) = app.login_with_agent(USER, CHROME).await;
    let (phone, _) = app.login_with_agent(USER, FIREFOX).await;
    let (_, ended) = app.tokens(USER).await;
    app.logout(&ended).await;
    app.tokens(ADMIN).await;

    let list = sessions(&app, &laptop).await;

    assert_eq!(list.len(), 2, "only this user's live sessions: {list:?}");
    let this = list
        .iter()
        .find(|s| s["current"] == true)
        .expect("a current one");
    assert_eq!(this["session_id"], sid(&laptop));
    assert_eq!(this["device"], "Chrome on Linux");
    assert_eq!(this["user_agent"], CHROME);
    assert_eq!(this["ip"], "127.0.0.1");
    assert_eq!(this["last_ip"], "127.0.0.1");
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["device"], "Firefox on Windows");
    assert_eq!(other["session_id"], sid(&phone));
    for field in ["created_at", "last_used_at"] {
        let at = this[field].as_i64().unwrap();
        assert!(
            (jwt_auth::auth::unix_now() - at).abs() < 60,
            "{field}: {at}"
        );
    }
    assert_eq!(
        this.as_object().unwrap().len(),
        8,
        "the documented fields: {this}"
    );
}

#[tokio::test]
async fn ending_another_of_my_sessions_works_at_once_and_foreign_ids_are_404() {
    let app = spawn_app().await;
    let (mine, _) = app.tokens(USER).await;
    let (other_device, other_refresh) = app.tokens(USER).await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;

    for foreign in [sid(&admin_jwt), "no-such-session".to_owned()] {
        let response = app
            .post_with(
                "/api/account/sessions/revoke",
                &json!({"session_id": foreign}),
                &mine,
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(error_code(response).await, "not_found");
    }
    assert_eq!(
        app.get_secret(Some(&admin_jwt)).await.status(),
        StatusCode::OK
    );

    let response = app
        .post_with(
            "/api/account/sessions/revoke",
            &json!({"session_id": sid(&other_device)}),
            &mine,
        )
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_secret(Some(&other_device)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&other_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get_secret(Some(&mine)).await.status(), StatusCode::OK);
    // Already ended: not found the second time.
    let again = app
        .post_with(
            "/api/account/sessions/revoke",
            &json!({"session_id": sid(&other_device)}),
            &mine,
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn log_out_other_devices_keeps_this_one_and_everywhere_ends_all() {
    let app = spawn_app().await;
    let (mine, my_refresh) = app.tokens(USER).await;
    let (second, _) = app.tokens(USER).await;
    let (third, _) = app.tokens(USER).await;

    let others = app
        .post_with("/api/account/sessions/revoke-others", &json!({}), &mine)
        .await;

    assert_eq!(others.status(), StatusCode::NO_CONTENT);
    for ended in [&second, &third] {
        assert_eq!(
            app.get_secret(Some(ended)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(sessions(&app, &mine).await.len(), 1);

    let everywhere = app
        .post_with("/api/account/logout-everywhere", &json!({}), &mine)
        .await;

    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    assert!(clears_cookie(&everywhere));
    assert_eq!(
        app.get_secret(Some(&mine)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&my_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM auth_events WHERE kind = 'session_revoked' ORDER BY id",
    )
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(kinds.len(), 2, "one audit event per action");
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let (mine, my_refresh) = app.tokens(USER).await;
    let (other, other_refresh) = app.tokens(USER).await;
    let new_password = "a much longer passphrase";

    let response = app
        .post_with(
            "/api/account/password",
            &json!({"current_password": USER.password, "new_password": new_password}),
            &mine,
        )
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        set_cookie_header(&response).is_none(),
        "the current cookie is kept"
    );
    assert_eq!(app.get_secret(Some(&mine)).await.status(), StatusCode::OK);
    assert_eq!(app.refresh(&my_refresh).await.status(), StatusCode::OK);
    assert_eq!(
        app.get_secret(Some(&other)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&other_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(USER.name, USER.password).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(USER.name, new_password).await.status(),
        StatusCode::OK
    );
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'user'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "rehashed with argon2id"
    );
}

#[tokio::test]
async fn a_new_password_must_be_long_and_not_the_username() {
    let app = spawn_app().await;
    let (mine, _) = app.tokens(USER).await;

    for weak in ["short", "eleven char", "USER"] {
        let response = app
            .post_with(
                "/api/account/password",
                &json!({"current_password": USER.password, "new_password": weak}),
                &mine,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{weak}"
        );
        assert_eq!(error_code(response).await, "weak_password");
    }
}

#[tokio::test]
async fn a_wrong_current_password_is_refused_and_counted_by_the_login_throttle() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    let (mine, _) = app.tokens(USER).await;
    let attempt = |current: &'static str| {
        let (app, mine) = (&app, mine.clone());
        async move {
            app.post_with(
                "/api/account/password",
                &json!({"current_password": current, "new_password": "a much longer passphrase"}),
                &mine,
            )
            .await
        }
    };

    for _ in 0..2 {
        let response = attempt("wrong-password").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(error_code(response).await, "wrong_password");
    }

    let throttled = attempt(USER.password).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.login_as(USER).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the same counter as logins"
    );
}

#[tokio::test]
async fn account_endpoints_need_an_access_token() {
    let app = spawn_app().await;

    let list = app
        .client
        .get(app.url("/api/account/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(list).await, "missing_token");
    for (path, body) in [
        ("/api/account/sessions/revoke", json!({"session_id": "x"})),
        ("/api/account/sessions/revoke-others", json!({})),
        ("/api/account/logout-everywhere", json!({})),
        (
            "/api/account/password",
            json!({"current_password": "x", "new_password": "a much longer passphrase"}),
        ),
    ] {
        let response = app.post_with(path, &body, "not-a-token").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(error_code(response).await, "invalid_token");
    }
}
