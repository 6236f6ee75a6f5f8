//! Server-rendered pages and the guards' first-load behaviour.

use crate::helpers::*;
use reqwest::{header, StatusCode};

#[tokio::test]
async fn login_page_is_server_rendered_with_the_form() {
    let app = spawn_app().await;

    let response = app.get_page("/login", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<form"), "{html}");
    assert!(html.contains(r#"id="username""#));
    assert!(html.contains(r#"type="password""#));
    assert!(html.contains(r#"type="submit""#));
    // The page loads its WASM to hydrate.
    assert!(html.contains("/pkg/jwt-auth"), "{html}");
}

#[tokio::test]
async fn unknown_path_renders_the_not_found_page_with_status_404() {
    let app = spawn_app().await;

    let response = app.get_page("/nope", None).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn root_redirects_anonymous_visitors_to_login() {
    let app = spawn_app().await;

    let response = app.get_page("/", None).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/login");
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;

    let response = app.get_page("/login", None).await;

    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
}

#[tokio::test]
async fn the_secret_page_redirects_anonymous_visitors_before_rendering_anything() {
    let app = spawn_app().await;

    let response = app.get_page("/secret-random-number", None).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/login");
    let html = response.text().await.unwrap();
    assert!(!html.contains("secret number"), "no protected HTML: {html}");
}

#[tokio::test]
async fn a_logged_in_first_load_renders_the_secret_page_for_that_user() {
    let app = spawn_app().await;
    let (_, cookie) = app.login_user().await;

    let response = app.get_page("/secret-random-number", Some(&cookie)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Your secret number"), "{html}");
    assert!(html.contains(">user<"), "{html}");
}

#[tokio::test]
async fn logged_in_visitors_are_sent_from_login_and_root_to_the_secret_page() {
    let app = spawn_app().await;
    let (_, cookie) = app.login_user().await;

    for path in ["/login", "/"] {
        let response = app.get_page(path, Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(
            response.headers()[header::LOCATION],
            "/secret-random-number",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_revoked_session_cookie_counts_as_logged_out() {
    let app = spawn_app().await;
    let (_, cookie) = app.login_user().await;
    app.logout(&cookie).await;

    let response = app.get_page("/secret-random-number", Some(&cookie)).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/login");
}
