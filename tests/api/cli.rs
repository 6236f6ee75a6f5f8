//! `jwt-auth user add NAME --role ROLE` (the real binary, password on stdin).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn user_add(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwt-auth"))
        .args(["user", "add"])
        .args(args)
        .env("DATABASE_URL", &app.vars["DATABASE_URL"])
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jwt-auth");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
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
