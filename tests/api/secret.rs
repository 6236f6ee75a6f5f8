//! `GET /api/secret-number` and every way a bearer token can be refused.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

fn now() -> i64 {
    jwt_auth::auth::unix_now()
}

/// Claims of the server's shape (its issuer and audience, some session), expiring at `exp`.
fn claims(app: &TestApp, exp: i64) -> Value {
    json!({"iss": app.issuer(), "sub": "1", "aud": app.audience(), "sid": "some-session",
           "username": "user", "role": "user", "iat": exp - 900, "exp": exp, "jti": "00"})
}

/// Signs `claims` with `alg` and `secret`, with the access-token type `at+jwt`.
fn sign(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    sign_typed(alg, Some("at+jwt"), claims, secret)
}

fn sign_typed(alg: Algorithm, typ: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    // The key id `JWT_SECRET` gets.
    header.kid = Some("default".to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

/// Asserts a 401 with the given code and an RFC 6750 challenge.
async fn assert_rejected(app: &TestApp, jwt: Option<&str>, expected: &str) {
    let response = app.get_secret(jwt).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{jwt:?}");
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(error_code(response).await, expected, "{jwt:?}");
}

#[tokio::test]
async fn a_valid_token_gets_a_fresh_random_number_each_time() {
    let app = spawn_app().await;
    let (jwt, _) = app.login_user().await;

    let mut values = Vec::new();
    for _ in 0..3 {
        let response = app.get_secret(Some(&jwt)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body: Value = response.json().await.unwrap();
        values.push(body["value"].as_u64().expect("integer value"));
    }

    // Three equal draws from a million values would take a broken generator.
    assert!(values.windows(2).any(|w| w[0] != w[1]), "{values:?}");
}

#[tokio::test]
async fn a_missing_token_is_missing_token() {
    let app = spawn_app().await;
    assert_rejected(&app, None, "missing_token").await;
}

#[tokio::test]
async fn garbage_tokens_are_invalid_token() {
    let app = spawn_app().await;
    for garbage in ["nope", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.e30", "..."] {
        assert_rejected(&app, Some(garbage), "invalid_token").await;
    }
}

#[tokio::test]
async fn an_expired_token_is_token_expired() {
    let app = spawn_app().await;
    let expired = sign(
        Algorithm::HS256,
        &claims(&app, now() - 10),
        TEST_SECRET.as_bytes(),
    );
    assert_rejected(&app, Some(&expired), "token_expired").await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_invalid() {
    let app = spawn_app().await;
    let forged = sign(
        Algorithm::HS256,
        &claims(&app, now() + 600),
        b"some-other-secret-some-other-secret!!",
    );
    assert_rejected(&app, Some(&forged), "invalid_token").await;
}

#[tokio::test]
async fn other_hmac_algorithms_are_rejected_even_with_the_right_secret() {
    let app = spawn_app().await;
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(alg, &claims(&app, now() + 600), TEST_SECRET.as_bytes());
        assert_rejected(&app, Some(&token), "invalid_token").await;
    }
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let app = spawn_app().await;
    let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt","kid":"default"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(&app, now() + 600).to_string());
    assert_rejected(&app, Some(&format!("{head}.{body}.")), "invalid_token").await;
}

#[tokio::test]
async fn rs256_key_confusion_is_rejected() {
    let app = spawn_app().await;
    // An RS256 header over a signature made with HMAC: what an attacker tries when a server
    // would use its public key as an HMAC secret.
    let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"at+jwt","kid":"default"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(&app, now() + 600).to_string());
    let signing_input = format!("{head}.{body}");
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()).unwrap(),
        Algorithm::HS256,
    )
    .unwrap();
    assert_rejected(
        &app,
        Some(&format!("{signing_input}.{signature}")),
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    let (jwt, _) = app.login_user().await;
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());

    assert_rejected(&app, Some(&parts.join(".")), "invalid_token").await;
}

#[tokio::test]
async fn a_token_without_exp_is_rejected() {
    let app = spawn_app().await;
    let mut no_exp = claims(&app, now() + 600);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_rejected(
        &app,
        Some(&sign(Algorithm::HS256, &no_exp, TEST_SECRET.as_bytes())),
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_token_forged_with_the_right_secret_and_shape_is_accepted() {
    // The baseline of the refusals around it: each of those changes one thing only.
    let app = spawn_app().await;
    let token = sign(
        Algorithm::HS256,
        &claims(&app, now() + 600),
        TEST_SECRET.as_bytes(),
    );

    assert_eq!(app.get_secret(Some(&token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_type_issuer_or_audience_is_invalid_token() {
    let app = spawn_app().await;
    let good = claims(&app, now() + 600);
    let secret = TEST_SECRET.as_bytes();

    for typ in [Some("JWT"), None, Some("id+jwt")] {
        let token = sign_typed(Algorithm::HS256, typ, &good, secret);
        assert_rejected(&app, Some(&token), "invalid_token").await;
    }
    for (claim, value) in [
        ("iss", json!("https://evil.example")),
        ("aud", json!("https://evil.example/api")),
        ("aud", json!(app.issuer())),
    ] {
        let mut changed = good.clone();
        changed[claim] = value;
        let token = sign(Algorithm::HS256, &changed, secret);
        assert_rejected(&app, Some(&token), "invalid_token").await;
    }
    for missing in ["iss", "aud", "sid"] {
        let mut changed = good.clone();
        changed.as_object_mut().unwrap().remove(missing);
        let token = sign(Algorithm::HS256, &changed, secret);
        assert_rejected(&app, Some(&token), "invalid_token").await;
    }
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_invalid_token() {
    let app = spawn_app().await;
    let mut future = claims(&app, now() + 900);
    future["iat"] = json!(now() + 60);

    let token = sign(Algorithm::HS256, &future, TEST_SECRET.as_bytes());

    assert_rejected(&app, Some(&token), "invalid_token").await;
}

#[tokio::test]
async fn answers_carry_the_security_headers_and_other_methods_get_a_json_405() {
    let app = spawn_app().await;
    let (jwt, _) = app.login_user().await;
    let ok = app.get_secret(Some(&jwt)).await;
    let refused = app.get_secret(None).await;
    for response in [&ok, &refused] {
        let headers = response.headers();
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    }

    let post = app.post_with("/api/secret-number", &json!({}), &jwt).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(error_code(post).await, "method_not_allowed");
}

#[tokio::test]
async fn a_token_living_longer_than_the_server_issues_is_invalid_and_none_is_valid_at_exp() {
    let app = spawn_app().await;
    let mut long = claims(&app, now() + 600);
    long["iat"] = json!(now() - 10);
    long["exp"] = json!(now() - 10 + 901);

    let response = app
        .get_secret(Some(&sign(Algorithm::HS256, &long, TEST_SECRET.as_bytes())))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_token");

    let at_exp = sign(
        Algorithm::HS256,
        &claims(&app, now()),
        TEST_SECRET.as_bytes(),
    );
    let response = app.get_secret(Some(&at_exp)).await;
    assert_eq!(error_code(response).await, "token_expired");
}
