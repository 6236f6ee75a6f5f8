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

#[tokio::test]
async fn the_wasm_bundle_is_served_gzipped_and_api_answers_are_not() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(
        site.path().join("pkg/jwt-auth.js"),
        "export const x = 1;\n".repeat(500),
    )
    .unwrap();
    let app = spawn_app_with(&[("LEPTOS_SITE_ROOT", site.path().to_str().unwrap())]).await;

    let bundle = app
        .client
        .get(app.url("/pkg/jwt-auth.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    let login = app
        .client
        .post(app.url("/api/login"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .json(&serde_json::json!({"username": USER.name, "password": USER.password}))
        .send()
        .await
        .unwrap();

    assert_eq!(bundle.status(), StatusCode::OK);
    assert_eq!(bundle.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_with_the_script_nonce() {
    let app = spawn_app().await;

    let response = app.get_page("/login", None).await;

    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let nonce = html
        .split(r#"<script type="module" nonce=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        csp.contains(&format!(
            "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"
        )),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test]
async fn pages_that_depend_on_the_session_are_never_cached() {
    let app = spawn_app().await;
    let (_, cookie) = app.login_user().await;

    let responses = [
        app.get_page("/login", None).await,
        app.get_page("/secret-random-number", Some(&cookie)).await,
        app.get_page("/secret-random-number", None).await,
        app.get_page("/nope", None).await,
    ];

    for response in responses {
        let url = response.url().clone();
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "no-store",
            "{url}"
        );
        assert_eq!(response.headers()[header::VARY], "Cookie", "{url}");
    }
}

#[tokio::test]
async fn hsts_is_sent_in_production_only() {
    let production = spawn_app_with(&[
        ("LEPTOS_ENV", "PROD"),
        ("PUBLIC_ORIGIN", "https://auth.example.com"),
    ])
    .await;
    let development = spawn_app().await;

    for path in ["/login", "/api/secret-number"] {
        let response = production.get_page(path, None).await;
        assert_eq!(
            response.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000",
            "{path}"
        );
        let response = development.get_page(path, None).await;
        assert!(response
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
    }
}
