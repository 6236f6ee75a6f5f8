//! What guessing a second factor buys: little. Wrong codes count per account across challenges
//! and addresses, a right password does not clear them, a challenge's attempts are claimed
//! atomically, turning TOTP off is no oracle, no code of a step that has not begun works, and
//! challenges die with every change that ends the user's sessions.

use crate::helpers::*;
use crate::mfa::{code, code_at, enrol, first_step, second_step};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn wrong_codes_count_per_account_across_challenges_and_addresses() {
    // Plenty of room in the per-address limits: only the account's code counter can refuse.
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "100"), ("LOGIN_RATE_BURST", "1000")]).await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let base = app.url("");

    // "Password, a few wrong codes, again": the right password never clears the count.
    for (i, ip) in ["127.0.2.1", "127.0.2.2", "127.0.2.3"].iter().enumerate() {
        let body: serde_json::Value = login_from(&base, ip, USER.name, USER.password)
            .await
            .json()
            .await
            .unwrap();
        let challenge = body["challenge"].as_str().unwrap();
        let tries = if i < 2 { 2 } else { 1 };
        for _ in 0..tries {
            let wrong = client_from(ip)
                .post(app.url("/api/login/mfa"))
                .json(&json!({"challenge": challenge, "code": "000000"}))
                .send()
                .await
                .unwrap();
            assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
    // Five wrong codes in a row: now even the right one is refused, from anywhere.
    let challenge = first_step(&app, USER).await;
    let right = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers().contains_key("retry-after"));

    // Until the window has passed; then a right code works and resets the count.
    app.advance(901);
    let challenge = first_step(&app, USER).await;
    let now = app.now();
    let right = second_step(
        &app,
        json!({"challenge": challenge, "code": code_at(&secret, now, 0)}),
    )
    .await;
    assert_eq!(right.status(), StatusCode::OK);
    let counted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE scope = 'mfa_user'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(counted, 0, "a right code clears the account's count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_codes_on_one_challenge_are_at_most_five_checks() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "100"), ("MFA_MAX_FAILURES", "100")]).await;
    let (jwt, _) = app.tokens(USER).await;
    enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;

    let guesses = (0..20).map(|i| {
        let (app, challenge) = (&app, challenge.clone());
        async move {
            second_step(
                app,
                json!({"challenge": challenge, "code": format!("{:06}", i)}),
            )
            .await
            .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;

    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY || **s == StatusCode::OK)
        .count();
    assert!(checked <= 5, "{checked} codes were checked: {statuses:?}");
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'mfa_failure'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert!(failures <= 5, "{failures}");
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn a_code_for_the_next_step_is_refused() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;

    let early = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 1)}),
    )
    .await;

    assert_eq!(early.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(early).await, "invalid_code");
    let previous = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(previous.status(), StatusCode::OK);
}

#[tokio::test]
async fn turning_totp_off_is_no_oracle_and_is_throttled_like_a_login() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3"), ("MFA_MAX_FAILURES", "100")]).await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;

    let wrong_password = app
        .post_with(
            "/api/account/mfa/totp/disable",
            &json!({"password": "not it", "code": code(&secret, 0)}),
            &jwt,
        )
        .await;
    let (status, body) = (wrong_password.status(), error_code(wrong_password).await);
    for _ in 0..2 {
        let wrong_code = app
            .post_with(
                "/api/account/mfa/totp/disable",
                &json!({"password": USER.password, "code": "000000"}),
                &jwt,
            )
            .await;
        assert_eq!(
            (wrong_code.status(), error_code(wrong_code).await),
            (status, body.clone()),
            "the same answer for a wrong password and a wrong code"
        );
    }
    let throttled = app
        .post_with(
            "/api/account/mfa/totp/disable",
            &json!({"password": USER.password, "code": code(&secret, 0)}),
            &jwt,
        )
        .await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(throttled).await, "too_many_attempts");
    assert_eq!(
        app.login_as(USER).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn reauth_with_totp_on_needs_the_code_too() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, codes) = enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;
    let body: serde_json::Value = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await
    .json()
    .await
    .unwrap();
    let jwt = body["jwt"].as_str().unwrap().to_owned();

    let password_only = app
        .post_with("/api/reauth", &json!({"password": USER.password}), &jwt)
        .await;
    assert_eq!(error_code(password_only).await, "wrong_password");
    let with_recovery = app
        .post_with(
            "/api/reauth",
            &json!({"password": USER.password, "recovery_code": codes[0]}),
            &jwt,
        )
        .await;
    assert_eq!(with_recovery.status(), StatusCode::OK);
    let fresh: serde_json::Value = with_recovery.json().await.unwrap();
    assert_eq!(
        claims_of(fresh["jwt"].as_str().unwrap())["amr"],
        json!(["pwd", "otp"])
    );
}

#[tokio::test]
async fn outstanding_challenges_end_with_the_users_sessions() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let (admin, _) = app.tokens(ADMIN).await;
    // The session that enrolled the factor: it stays through the changes below.
    let body: serde_json::Value = second_step(
        &app,
        json!({"challenge": first_step(&app, USER).await, "code": code(&secret, 0)}),
    )
    .await
    .json()
    .await
    .unwrap();
    let mine = body["jwt"].as_str().unwrap().to_owned();

    let changes: [(&str, serde_json::Value, &str); 3] = [
        (
            "/api/account/sessions/revoke-others",
            json!({}),
            mine.as_str(),
        ),
        (
            "/api/admin/users/revoke-sessions",
            json!({"username": "user"}),
            admin.as_str(),
        ),
        (
            "/api/admin/users/lock",
            json!({"username": "user", "locked": true}),
            admin.as_str(),
        ),
    ];
    for (path, body, token) in changes {
        let challenge = first_step(&app, USER).await;
        let changed = app.post_with(path, &body, token).await;
        assert_eq!(changed.status(), StatusCode::NO_CONTENT, "{path}");

        let late = second_step(
            &app,
            json!({"challenge": challenge, "code": code(&secret, 1)}),
        )
        .await;

        assert_eq!(late.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(error_code(late).await, "invalid_challenge", "{path}");
    }
}

#[tokio::test]
async fn an_outstanding_challenge_ends_when_the_password_changes() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    let (secret, _) = enrol(&app, &jwt).await;
    let challenge = first_step(&app, USER).await;

    let changed = app
        .post_with(
            "/api/account/password",
            &json!({"current_password": USER.password, "new_password": "a new long password"}),
            &jwt,
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);

    let late = second_step(
        &app,
        json!({"challenge": challenge, "code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(error_code(late).await, "invalid_challenge");
}
