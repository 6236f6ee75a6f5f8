//! `POST /api/refresh`: rotation, reuse inside and after the grace window, concurrency, expiry.

use crate::helpers::*;
use reqwest::{header, StatusCode};
use serde_json::Value;

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

    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(app.db())
        .await
        .unwrap();

    assert_eq!(hashes, vec![token_hash(&token)]);
}

#[tokio::test]
async fn the_old_cookie_fails_once_the_grace_window_has_passed() {
    let app = spawn_app().await;
    let (_, old) = app.login_user().await;
    assert_eq!(app.refresh(&old).await.status(), StatusCode::OK);

    app.advance(11);

    assert_refresh_refused(&app, &old).await;
}

/// (sessions, their rotations in all, revoked sessions) in the database.
async fn token_counts(app: &TestApp) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sessions),
                (SELECT CAST(SUM(refresh_count) AS BIGINT) FROM sessions),
                (SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL)",
    )
    .fetch_one(app.db())
    .await
    .unwrap()
}

/// The hash of the live token of the (only) session.
async fn live_hash(app: &TestApp) -> Vec<u8> {
    sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_one(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn replaying_the_parent_within_the_grace_window_returns_the_same_child() {
    let app = spawn_app().await;
    let (_, parent) = app.login_user().await;
    let first = app.refresh(&parent).await;
    let child = refresh_cookie(&first).unwrap();

    // A second tab, or a retried request, presents the parent again at once.
    let second = app.refresh(&parent).await;

    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        refresh_cookie(&second).unwrap(),
        child,
        "no sibling: the same child"
    );
    let body: Value = second.json().await.unwrap();
    assert_eq!(
        app.get_secret(body["jwt"].as_str()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        token_counts(&app).await,
        (1, 1, 0),
        "one rotation, nothing revoked"
    );
    assert_eq!(live_hash(&app).await, token_hash(&child));
    // The session goes on from the child.
    assert_eq!(app.refresh(&child).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn replaying_a_parent_after_its_child_was_rotated_revokes_the_session() {
    let app = spawn_app().await;
    let (_, grandparent) = app.login_user().await;
    let parent = refresh_cookie(&app.refresh(&grandparent).await).unwrap();
    let child = refresh_cookie(&app.refresh(&parent).await).unwrap();

    // Still within the grace window of its own rotation, but no longer the live token's parent.
    assert_refresh_refused(&app, &grandparent).await;

    assert_refresh_refused(&app, &child).await;
    let reason: String = sqlx::query_scalar("SELECT revoked_reason FROM sessions")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(reason, "reuse_detected");
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let app = spawn_app().await;
    let (_, stolen) = app.login_user().await;
    let newest = refresh_cookie(&app.refresh(&stolen).await).unwrap();
    // Another login of the same user is a different family and must survive.
    let (_, other_session) = app.login_user().await;
    app.advance(60);

    assert_refresh_refused(&app, &stolen).await;

    // The legitimate newest token is dead too: the thief cannot have raced ahead with it.
    assert_refresh_refused(&app, &newest).await;
    assert_eq!(app.refresh(&other_session).await.status(), StatusCode::OK);
    let db = app.db();
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT revoked_reason FROM sessions WHERE revoked_at IS NOT NULL",
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
async fn twenty_concurrent_refreshes_of_one_cookie_all_get_the_same_new_cookie() {
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
        results.iter().all(|(status, _)| *status == StatusCode::OK),
        "{results:?}"
    );
    let cookies: std::collections::HashSet<_> = results.iter().map(|(_, c)| c.clone()).collect();
    assert_eq!(
        cookies.len(),
        1,
        "every answer carries the same child: {cookies:?}"
    );
    let child = results[0].1.clone().unwrap();
    assert_eq!(token_counts(&app).await, (1, 1, 0), "exactly one rotation");
    assert_eq!(live_hash(&app).await, token_hash(&child));
    assert_eq!(app.refresh(&child).await.status(), StatusCode::OK);
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
    sqlx::query("UPDATE sessions SET expires_at = expires_at - 1800")
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
    sqlx::query("UPDATE sessions SET expires_at = expires_at - 1800")
        .execute(app.db())
        .await
        .unwrap();
    assert_refresh_refused(&app, &second).await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(&[("REFRESH_IDLE_TTL_SECS", "600")]).await;
    let (_, token) = app.login_user().await;

    sqlx::query("UPDATE sessions SET last_used_at = last_used_at - 601")
        .execute(app.db())
        .await
        .unwrap();

    assert_refresh_refused(&app, &token).await;
}

#[tokio::test]
async fn a_request_carrying_the_refresh_cookie_twice_is_refused_and_clears_it() {
    let app = spawn_app().await;
    let (_, victim) = app.login_user().await;
    let (_, planted) = app.login_user().await;

    for path in ["/api/refresh", "/api/logout"] {
        let response = app
            .client
            .post(app.url(path))
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::COOKIE,
                format!("{COOKIE}={planted}; {COOKIE}={victim}"),
            )
            .body("{}")
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(clears_cookie(&response), "{path}");
        assert_eq!(error_code(response).await, "invalid_refresh_token");
    }
    // Neither session was touched: each cookie alone still works.
    assert_eq!(app.refresh(&victim).await.status(), StatusCode::OK);
    assert_eq!(app.refresh(&planted).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_unprefixed_legacy_cookie_is_ignored_and_cleared() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;

    let response = app
        .client
        .post(app.url("/api/refresh"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("jwt_auth_refresh={token}"))
        .body("{}")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let cleared: Vec<_> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("jwt_auth_refresh=;") && v.contains("Max-Age=0"))
        .collect();
    assert_eq!(cleared.len(), 2, "cleared on / and /api: {cleared:?}");
}

/// Rows in every table, all together.
async fn all_rows(app: &TestApp) -> i64 {
    let mut total = 0;
    for table in [
        "users",
        "sessions",
        "session_revocations",
        "auth_events",
        "login_failures",
        "totp_factors",
        "recovery_codes",
        "mfa_challenges",
        "schema_facts",
    ] {
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(app.db())
                .await
                .unwrap();
        total += count;
    }
    total
}

#[tokio::test]
async fn two_thousand_refreshes_of_one_session_add_almost_no_rows() {
    let app = spawn_app().await;
    let (_, mut token) = app.login_user().await;
    let before = all_rows(&app).await;

    for _ in 0..2000 {
        let response = app.refresh(&token).await;
        assert_eq!(response.status(), StatusCode::OK);
        token = refresh_cookie(&response).unwrap();
    }

    let after = all_rows(&app).await;
    assert!(after - before <= 10, "{before} rows before, {after} after");
    let (count, last_used): (i64, i64) =
        sqlx::query_as("SELECT refresh_count, last_used_at FROM sessions")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(count, 2000, "the session counts its refreshes");
    assert!(last_used >= app.now() - 60);
}

#[tokio::test]
async fn the_parent_replayed_by_another_client_within_grace_is_theft() {
    let app = spawn_app().await;
    let (jwt, parent) = app.login_with_agent(USER, "Firefox").await;
    let rotated = app
        .client
        .post(app.url("/api/refresh"))
        .header(header::USER_AGENT, "Firefox")
        .header(header::COOKIE, format!("{COOKIE}={parent}"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let child = refresh_cookie(&rotated).unwrap();
    let child_jwt = rotated.json::<Value>().await.unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned();

    // Moments later, the same parent from another user agent (a thief following the victim).
    let thief = app
        .client
        .post(app.url("/api/refresh"))
        .header(header::USER_AGENT, "curl/8.5.0")
        .header(header::COOKIE, format!("{COOKIE}={parent}"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();

    assert_eq!(thief.status(), StatusCode::UNAUTHORIZED);
    assert_refresh_refused(&app, &child).await;
    for token in [&jwt, &child_jwt] {
        assert_eq!(
            app.get_secret(Some(token)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let reuse: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'reuse_detected'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(reuse, 1);
}

#[tokio::test]
async fn the_same_clients_replay_gets_the_same_child_and_is_audited() {
    let app = spawn_app().await;
    let (_, parent) = app.login_user().await;
    let child = refresh_cookie(&app.refresh(&parent).await).unwrap();

    let again = app.refresh(&parent).await;

    assert_eq!(refresh_cookie(&again).unwrap(), child);
    let replayed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'refresh_replayed'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(replayed, 1);
}

#[tokio::test]
async fn a_non_ascii_cookie_beside_it_does_not_hide_the_refresh_cookie() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;
    let value = header::HeaderValue::from_bytes(
        format!("pref=caf\u{e9}; {COOKIE}={token}; x=\u{1f36a}").as_bytes(),
    )
    .unwrap();

    let response = app
        .client
        .post(app.url("/api/refresh"))
        .header(header::COOKIE, value)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}
