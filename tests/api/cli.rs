//! `jwt-auth user …` (the real binary, password on stdin).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::process::Output;

fn user_add(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let args: Vec<&str> = ["user", "add"].iter().chain(args).copied().collect();
    run_cli(app, &args, stdin)
}

#[tokio::test]
async fn user_add_creates_an_account_that_can_log_in() {
    let app = spawn_app().await;

    let output = user_add(
        &app,
        &["carol", "--role", "admin"],
        "carol's long passphrase\n",
    );

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response = app.login("carol", "carol's long passphrase").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "admin");
}

#[tokio::test]
async fn user_add_refuses_a_duplicate_name() {
    let app = spawn_app().await;

    let output = user_add(&app, &["user"], "another-password\n");

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    // The existing account is unchanged.
    assert_eq!(app.login_as(USER).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn user_add_refuses_an_empty_password() {
    let app = spawn_app().await;

    let output = user_add(&app, &["dave"], "\n");

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("password is empty"));
    assert_eq!(
        app.login("dave", "").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn user_remove_deletes_the_account_and_ends_its_sessions() {
    let app = spawn_app().await;
    let (_, refresh_token) = app.login_user().await;

    let output = run_cli(&app, &["user", "remove", "user"], "");

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(app.login_as(USER).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.refresh(&refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = run_cli(&app, &["user", "remove", "user"], "");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no user named"));
}

#[tokio::test]
async fn key_generate_prints_a_new_256_bit_key_that_jwt_keys_accepts() {
    let app = spawn_app().await;
    let run = || {
        let output = run_cli(&app, &["key", "generate"], "");
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let (first, second) = (run(), run());

    assert_ne!(first, second);
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        first.as_bytes(),
    )
    .expect("base64url");
    assert_eq!(bytes.len(), 32);
    // It works as a key: a server signs with it.
    let keys = format!("fresh:{first}:active");
    let app = spawn_app_with(&[("JWT_SECRET", ""), ("JWT_KEYS", &keys)]).await;
    let (jwt, _) = app.login_user().await;
    assert_eq!(app.get_secret(Some(&jwt)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn usernames_are_one_canonical_name_and_invisible_characters_are_refused() {
    let app = spawn_app().await;

    for hidden in ["ad\u{200b}min", "\u{202e}nimda", "car\u{feff}ol"] {
        let output = user_add(&app, &[hidden], "a long enough password\n");
        assert!(!output.status.success(), "{hidden:?} was accepted");
        let login = app.login(hidden, "a long enough password").await;
        assert_eq!(
            login.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hidden:?}"
        );
    }
    // Full-width letters, another case, another way of writing é: one name.
    let added = user_add(&app, &["Jos\u{e9}"], "a long enough password\n");
    assert!(added.status.success());
    for same in ["JOSE\u{301}", "\u{ff2a}\u{ff4f}\u{ff53}\u{e9}", "jos\u{e9}"] {
        assert_eq!(
            app.login(same, "a long enough password").await.status(),
            StatusCode::OK,
            "{same:?}"
        );
        let again = user_add(&app, &[same], "a long enough password\n");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("already exists"),
            "{same:?}"
        );
    }
}
