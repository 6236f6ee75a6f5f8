//! Device cookies: a username's failure ceiling, exhausted by guesses from many addresses,
//! does not lock the real user out of a browser they have logged in with before.

use crate::helpers::*;
use reqwest::{header, StatusCode};
use serde_json::json;

async fn login_with_device(
    app: &TestApp,
    ip: &str,
    password: &str,
    device: Option<&str>,
) -> reqwest::Response {
    let mut request = client_from(ip)
        .post(app.url("/api/login"))
        .json(&json!({"username": USER.name, "password": password}));
    if let Some(device) = device {
        request = request.header(header::COOKIE, format!("{DEVICE_COOKIE}={device}"));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_login_sets_a_long_lived_host_only_device_cookie() {
    let app = spawn_app().await;

    let response = app.login_as(USER).await;

    let header = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{DEVICE_COOKIE}=")))
        .expect("a device cookie")
        .to_owned();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=31536000",
    ] {
        assert!(header.contains(attribute), "{header}");
    }
    assert!(!header.contains("Domain"));
    // Presented again, the same device keeps its id.
    let device = cookie_value(&response, DEVICE_COOKIE).unwrap();
    let again = login_with_device(&app, "127.0.0.1", USER.password, Some(&device)).await;
    assert_eq!(cookie_value(&again, DEVICE_COOKIE).unwrap(), device);
}

#[tokio::test]
async fn an_exhausted_ceiling_refuses_unknown_browsers_but_not_the_users_own() {
    let app = spawn_app_with(&[
        ("LOGIN_USER_MAX_FAILURES_PER_HOUR", "6"),
        ("LOGIN_MAX_FAILURES", "5"),
    ])
    .await;
    let device = cookie_value(&app.login_as(USER).await, DEVICE_COOKIE).unwrap();
    // Someone guesses from elsewhere until the username's ceiling is used up.
    for ip in ["127.0.3.1", "127.0.3.2"] {
        for _ in 0..3 {
            let wrong = login_with_device(&app, ip, "guess", None).await;
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
    }

    let stranger = login_with_device(&app, "127.0.3.9", USER.password, None).await;
    let own = login_with_device(&app, "127.0.3.9", USER.password, Some(&device)).await;

    assert_eq!(stranger.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test]
async fn failures_with_a_device_cookie_count_against_the_device_not_the_username() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let device = cookie_value(&app.login_as(USER).await, DEVICE_COOKIE).unwrap();

    for i in 0..3 {
        // Each from its own address: only the device's count can add up.
        let ip = format!("127.0.4.{}", i + 1);
        let wrong = login_with_device(&app, &ip, "guess", Some(&device)).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let stolen_cookie = login_with_device(&app, "127.0.4.9", USER.password, Some(&device)).await;
    assert_eq!(stolen_cookie.status(), StatusCode::TOO_MANY_REQUESTS);

    let ceiling: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM login_failures WHERE scope = 'user'",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(ceiling, 0, "the username's ceiling was not touched");
    // Without the cookie, from a fresh address, the user gets in.
    assert_eq!(
        login_with_device(&app, "127.0.4.10", USER.password, None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_forged_or_foreign_device_cookie_counts_for_nothing() {
    let app = spawn_app_with(&[("LOGIN_USER_MAX_FAILURES_PER_HOUR", "2")]).await;
    let admins = cookie_value(&app.login_as(ADMIN).await, DEVICE_COOKIE).unwrap();
    for ip in ["127.0.5.1", "127.0.5.2"] {
        login_with_device(&app, ip, "guess", None).await;
    }

    let foreign = login_with_device(&app, "127.0.5.3", USER.password, Some(&admins)).await;
    let forged = login_with_device(
        &app,
        "127.0.5.3",
        USER.password,
        Some("2.AAAAAAAAAAAAAAAAAAAAAA.AAAA"),
    )
    .await;

    assert_eq!(foreign.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
}
