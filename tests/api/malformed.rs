//! Bad input on every endpoint gets a 4xx JSON error, never a 5xx.

use crate::helpers::*;
use reqwest::{header, StatusCode};

const POST_ENDPOINTS: [&str; 3] = ["/api/login", "/api/refresh", "/api/logout"];

#[tokio::test]
async fn malformed_json_is_400_on_every_post_endpoint() {
    let app = spawn_app().await;
    for path in POST_ENDPOINTS {
        for body in ["{", "{\"username\": }", "not json", "\u{0}"] {
            let response = app.post_raw(path, "application/json", body).await;
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{path} {body:?}"
            );
            assert_eq!(error_code(response).await, "malformed_json");
        }
    }
}

#[tokio::test]
async fn wrong_content_type_is_415_on_every_post_endpoint() {
    let app = spawn_app().await;
    for path in POST_ENDPOINTS {
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let response = app
                .post_raw(path, content_type, "username=user&password=x")
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{path} {content_type}"
            );
            assert_eq!(error_code(response).await, "unsupported_media_type");
        }
    }
}

#[tokio::test]
async fn bodies_over_16_kib_are_413_on_every_post_endpoint() {
    let app = spawn_app().await;
    let big = format!(
        r#"{{"username":"user","password":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    for path in POST_ENDPOINTS {
        let response = app.post_raw(path, "application/json", big.clone()).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(error_code(response).await, "payload_too_large");
    }
}

#[tokio::test]
async fn login_with_missing_or_mistyped_fields_is_422() {
    let app = spawn_app().await;
    for body in [
        r#"{}"#,
        r#"{"username":"user"}"#,
        r#"{"username":1,"password":2}"#,
        "[]",
        "42",
    ] {
        let response = app.post_raw("/api/login", "application/json", body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert_eq!(error_code(response).await, "invalid_request");
    }
}

#[tokio::test]
async fn refresh_and_logout_accept_an_empty_json_body() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;

    let response = app
        .client
        .post(app.url("/api/refresh"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, format!("{COOKIE}={token}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_get_json_errors() {
    let app = spawn_app().await;

    let get_login = app.client.get(app.url("/api/login")).send().await.unwrap();
    assert_eq!(get_login.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(get_login).await, "method_not_allowed");

    let post_secret = app
        .post_raw("/api/secret-number", "application/json", "{}")
        .await;
    assert_eq!(post_secret.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(post_secret).await, "method_not_allowed");

    let unknown = app
        .client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(unknown).await, "not_found");
}

/// `POST /api/login` with the right credentials and extra headers.
async fn login_with_headers(app: &TestApp, headers: &[(&str, String)]) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(serde_json::json!({"username": USER.name, "password": USER.password}).to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn cross_site_posts_are_forbidden() {
    let app = spawn_app().await;

    let evil_origin = login_with_headers(&app, &[("Origin", "https://evil.example".into())]).await;
    let cross_site = login_with_headers(&app, &[("Sec-Fetch-Site", "cross-site".into())]).await;
    let same_origin = login_with_headers(
        &app,
        &[
            ("Origin", format!("http://{}", app.addr)),
            ("Sec-Fetch-Site", "same-origin".into()),
        ],
    )
    .await;

    assert_eq!(evil_origin.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(evil_origin).await, "forbidden");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(same_origin.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_unsafe_method_from_another_origin_is_403_on_every_endpoint() {
    let app = spawn_app().await;
    let paths = [
        "/api/login",
        "/api/refresh",
        "/api/logout",
        "/api/secret-number",
        "/api/nope",
    ];
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for path in paths {
            for origin in [
                "https://evil.example",
                "null",
                // Our host with another scheme or port is another origin.
                &app.origin().replace("http://", "https://"),
                &format!("{}0", app.origin()),
            ] {
                let response = app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .header(header::ORIGIN, origin)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::FORBIDDEN,
                    "{method} {path} from {origin}"
                );
                assert_eq!(error_code(response).await, "forbidden");
            }
        }
    }
}

#[tokio::test]
async fn the_host_header_does_not_decide_what_is_same_origin() {
    let app = spawn_app().await;

    // DNS rebinding: the attacker's page reaches us under its own name, so Host = Origin.
    let rebinding = login_with_headers(
        &app,
        &[
            ("Host", "evil.example:3000".into()),
            ("Origin", "http://evil.example:3000".into()),
        ],
    )
    .await;
    // Behind a proxy that rewrites Host, our own origin still passes.
    let proxied = login_with_headers(
        &app,
        &[
            ("Host", "backend.internal:8080".into()),
            ("Origin", app.origin().into()),
        ],
    )
    .await;

    assert_eq!(rebinding.status(), StatusCode::FORBIDDEN);
    assert_eq!(proxied.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_without_origin_or_fetch_metadata_is_allowed() {
    let app = spawn_app().await;

    // curl and other non-browser clients send neither header; browsers send Origin on POST.
    let response = login_with_headers(&app, &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_browser_style_accept_header_still_gets_json_not_a_redirect() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.url("/api/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, app.url("/login"))
        .body(r#"{"username":"user","password":"wrong"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_credentials");
}
