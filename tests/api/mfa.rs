//! TOTP: enrolment, the login's second step, recovery codes, replay, throttling, reset.
//! Codes are computed from the secret the setup returns, as an authenticator app would.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jwt_auth::auth::totp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The code an authenticator shows for `secret` (base32) `offset` steps from now.
pub(crate) fn code(secret: &str, offset: i64) -> String {
    code_at(secret, jwt_auth::auth::unix_now(), offset)
}

/// The code for `secret` `offset` steps from time `now` (a server's moved clock).
pub(crate) fn code_at(secret: &str, now: i64, offset: i64) -> String {
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("base32 secret");
    totp::code_at_step(&raw, totp::step_at(now) + offset)
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Enrols `user` (logged in with `jwt`): returns the secret and the recovery codes. The
/// confirming code is this step's; the enrolment is then moved a step into the past, so this
/// step's code works for the next login (a code of a step that has not begun never does).
pub(crate) async fn enrol(app: &TestApp, jwt: &str) -> (String, Vec<String>) {
    let setup = app
        .post_with("/api/account/mfa/totp/setup", &json!({}), jwt)
        .await;
    assert_eq!(setup.status(), StatusCode::OK);
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let enabled = app
        .post_with(
            "/api/account/mfa/totp/enable",
            &json!({"code": code(&secret, 0)}),
            jwt,
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    sqlx::query("UPDATE totp_factors SET last_step = last_step - 1")
        .execute(app.db())
        .await
        .unwrap();
    let body: Value = enabled.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// Logs in with the password: the challenge of the second step.
pub(crate) async fn first_step(app: &TestApp, user: TestUser) -> String {
    let response = app.login_as(user).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        set_cookie_header(&response).is_none(),
        "no refresh cookie before the second step"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"mfa_required": true, "challenge": body["challenge"]}),
        "{body}"
    );
    assert!(body.get("jwt").is_none());
    body["challenge"].as_str().unwrap().to_owned()
}

pub(crate) async fn second_step(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/login/mfa", &body, None).await
}

#[tokio::test]
async fn enrolment_returns_a_secret_a_url_and_a_qr_code_then_recovery_codes() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (other, _) = app.tokens(USER).await;

    let setup: Value = app
        .post_with("/api/account/mfa/totp/setup", &json!({}), &jwt)
        .await
        .json()
        .await
        .unwrap();

    let secret = setup["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let url = setup["otpauth_url"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/jwt-auth:user?secret="),
        "{url}"
    );
    assert!(url.contains(&format!("secret={secret}")) && url.contains("digits=6&period=30"));
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    // Stored sealed, never in clear.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret FROM totp_factors")
        .fetch_one(app.db())
        .await
        .unwrap();
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    assert!(!stored.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!String::from_utf8_lossy(&stored).contains(secret));

    let wrong = app
        .post_with(
            "/api/account/mfa/totp/enable",
            &json!({"code": "000000"}),
            &jwt,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(wrong).await, "invalid_code");

    let enabled = app
        .post_with(
            "/api/account/mfa/totp/enable",
            &json!({"code": code(secret, 0)}),
            &jwt,
        )
        .await;

    assert_eq!(enabled.status(), StatusCode::OK);
    sqlx::query("UPDATE totp_factors SET last_step = last_step - 1")
        .execute(app.db())
        .await
        .unwrap();
    let body: Value = enabled.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(app.db())
        .await
        .unwrap();
    assert_eq!(hashes.len(), 10);
    for code in codes {
        let code = code.as_str().unwrap();
        assert!(hashes
            .iter()
            .all(|h| !String::from_utf8_lossy(h).contains(code)));
    }
    assert_eq!(
        app.get_secret(Some(&other)).await.status(),
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    assert_eq!(
        app.get_secret(Some(&jwt)).await.status(),
        StatusCode::OK,
        "this one stays"
    );
    let again = app
        .post_with("/api/account/mfa/totp/setup", &json!({}), &jwt)
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let status: Value = app
        .get_with("/api/account/mfa", &jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["totp_enabled"], true);
}

#[tokio::test]
async fn login_asks_for_a_code_and_the_token_says_how_the_user_logged_in() {
    let app = spawn_app().await;
    let (plain, _) = app.tokens(ADMIN).await;
    assert_eq!(claims(&plain)["amr"], json!(["pwd"]));
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;

    let challenge = first_step(&app, USER).await;
    let response = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    let cookie = refresh_cookie(&response).expect("the refresh cookie now");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "user");
    let jwt = body["jwt"].as_str().unwrap();
    assert_eq!(claims(jwt)["amr"], json!(["pwd", "otp"]));
    assert_eq!(app.get_secret(Some(jwt)).await.status(), StatusCode::OK);
    // Refresh keeps the session's amr.
    let refreshed: Value = app.refresh(&cookie).await.json().await.unwrap();
    assert_eq!(
        claims(refreshed["jwt"].as_str().unwrap())["amr"],
        json!(["pwd", "otp"])
    );
    // A wrong password still gets the usual 401 and no challenge.
    let wrong = app.login(USER.name, "wrong").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_works_once_even_within_its_30_seconds() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let next = code(&secret, 0);
    let challenge = first_step(&app, USER).await;
    let first = second_step(&app, json!({"challenge": challenge, "code": next})).await;
    assert_eq!(first.status(), StatusCode::OK);

    let challenge = first_step(&app, USER).await;
    let replay = second_step(&app, json!({"challenge": challenge, "code": next})).await;

    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(replay).await, "invalid_code");
    // The previous step's code is spent too (older than the last accepted).
    let older = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, -1)}),
    )
    .await;
    assert_eq!(older.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (_, codes) = enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;

    // Case and dashes do not matter.
    let typed = codes[3].to_lowercase().replace('-', " ");
    let used = second_step(
        &app,
        json!({"challenge": challenge, "recovery_code": typed}),
    )
    .await;

    assert_eq!(used.status(), StatusCode::OK);
    let body: Value = used.json().await.unwrap();
    assert_eq!(
        claims(body["jwt"].as_str().unwrap())["amr"],
        json!(["pwd", "otp"])
    );
    let challenge = first_step(&app, USER).await;
    let again = second_step(
        &app,
        json!({"challenge": challenge, "recovery_code": codes[3]}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let other = second_step(
        &app,
        json!({"challenge": challenge, "recovery_code": codes[4]}),
    )
    .await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_is_single_use_bound_to_its_user_and_expires() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (_, codes) = enrol(&app, &jwt).await;

    let challenge = first_step(&app, USER).await;
    let ok = second_step(
        &app,
        json!({"challenge": challenge, "recovery_code": codes[0]}),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let reused = second_step(
        &app,
        json!({"challenge": challenge, "recovery_code": codes[1]}),
    )
    .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(reused).await, "invalid_challenge");

    let expired = first_step(&app, USER).await;
    sqlx::query("UPDATE mfa_challenges SET expires_at = expires_at - 301")
        .execute(app.db())
        .await
        .unwrap();
    let late = second_step(
        &app,
        json!({"challenge": expired, "recovery_code": codes[1]}),
    )
    .await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(late).await, "invalid_challenge");

    for garbage in ["", "not-a-challenge"] {
        let response = second_step(&app, json!({"challenge": garbage, "code": "123456"})).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let neither = second_step(&app, json!({"challenge": "x"})).await;
    assert_eq!(neither.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn wrong_codes_count_against_the_login_throttle() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;

    for _ in 0..2 {
        let wrong = second_step(&app, json!({"challenge": challenge, "code": "000000"})).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let throttled = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;

    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.login_as(USER).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'mfa_failure'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(failures, 2);
}

#[tokio::test]
async fn a_challenge_allows_five_wrong_codes() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "100")]).await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;
    for _ in 0..5 {
        second_step(&app, json!({"challenge": challenge, "code": "000000"})).await;
    }

    let sixth = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;

    assert_eq!(sixth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(sixth).await, "invalid_challenge");
}

#[tokio::test]
async fn turning_totp_off_needs_the_password_and_a_code() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, codes) = enrol(&app, &jwt).await;
    let disable = |body: Value| {
        let (app, jwt) = (&app, jwt.clone());
        async move {
            app.post_with("/api/account/mfa/totp/disable", &body, &jwt)
                .await
        }
    };

    // One answer for a wrong password and for a right password with a wrong code.
    let wrong_password = disable(json!({"password": "nope", "code": code(&secret, 0)})).await;
    assert_eq!(wrong_password.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(wrong_password).await, "wrong_password");
    let wrong_code = disable(json!({"password": USER.password, "code": "000000"})).await;
    assert_eq!(wrong_code.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(wrong_code).await, "wrong_password");

    let off = disable(json!({"password": USER.password, "code": codes[0]})).await;

    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let body: Value = app.login_as(USER).await.json().await.unwrap();
    assert!(body["jwt"].is_string(), "a password alone again: {body}");
    assert_eq!(
        disable(json!({"password": USER.password, "code": "123456"}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn an_admin_or_the_command_line_can_reset_a_second_factor() {
    let app = spawn_app().await;
    let (user_jwt, _) = app.tokens(USER).await;
    enrol(&app, &user_jwt).await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;

    let forbidden = app
        .post_with(
            "/api/admin/users/mfa-reset",
            &json!({"username": "admin"}),
            &user_jwt,
        )
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let reset = app
        .post_with(
            "/api/admin/users/mfa-reset",
            &json!({"username": "user"}),
            &admin_jwt,
        )
        .await;

    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_secret(Some(&user_jwt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let body: Value = app.login_as(USER).await.json().await.unwrap();
    assert!(body["jwt"].is_string());
    let actor: Option<String> =
        sqlx::query_scalar("SELECT actor FROM auth_events WHERE kind = 'mfa_reset'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(actor.as_deref(), Some("admin"));
    let nothing = app
        .post_with(
            "/api/admin/users/mfa-reset",
            &json!({"username": "user"}),
            &admin_jwt,
        )
        .await;
    assert_eq!(nothing.status(), StatusCode::CONFLICT);

    let (jwt, _) = app.tokens(USER).await;
    enrol(&app, &jwt).await;
    let output = run_cli(&app, &["user", "mfa-reset", "user"], "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: Value = app.login_as(USER).await.json().await.unwrap();
    assert!(body["jwt"].is_string());
}

#[tokio::test]
async fn a_key_rotation_reseals_second_factors_so_dropping_the_old_key_keeps_them() {
    let app = spawn_app_with(&[
        ("JWT_SECRET", ""),
        ("JWT_KEYS", &jwt_keys(Some("active"), None)),
    ])
    .await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;

    // Rotation: the new key signs, the old one only verifies. Start-up seals again.
    let app = app
        .restart_with(&[("JWT_KEYS", &jwt_keys(Some("verify"), Some("active")))])
        .await;
    let key_id: String = sqlx::query_scalar("SELECT key_id FROM totp_factors")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(key_id, "new");
    // The old key is dropped; the factor still opens.
    let app = app
        .restart_with(&[("JWT_KEYS", &jwt_keys(None, Some("active")))])
        .await;

    let challenge = first_step(&app, USER).await;
    let response = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}
