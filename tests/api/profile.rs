//! The account itself: the profile, a new address (verified before it counts, the old one
//! told), the data export, deleting the account, and the security notices.

use crate::helpers::*;
use crate::mailbox::MailServer;
use crate::mfa::{code, enrol};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "tangerine orbit velvet 93";

async fn jwt_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn profile(app: &TestApp, jwt: &str) -> Value {
    let response = app.get_with("/api/account/profile", jwt).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_profile_has_the_documented_fields() {
    let app = spawn_app().await;
    add_user_with_email(&app, "carol", PASSWORD, "carol@example.com");
    let carol = profile(&app, &jwt_of(app.login("carol", PASSWORD).await).await).await;
    assert_eq!(carol["username"], "carol");
    assert_eq!(carol["email"], "carol@example.com");
    assert_eq!(carol["email_verified"], true, "an operator's word");
    assert_eq!(carol["role"], "user");
    assert!(carol["created_at"].as_i64().unwrap() > 0);
    assert_eq!(carol.as_object().unwrap().len(), 5, "{carol}");

    let (jwt, _) = app.tokens(USER).await;
    let user = profile(&app, &jwt).await;
    assert_eq!(user["email"], Value::Null);
    assert_eq!(user["email_verified"], false);
    assert_eq!(
        app.client
            .get(app.url("/api/account/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_new_address_counts_once_verified_and_the_old_one_is_told() {
    let mail = MailServer::start();
    let app = spawn_app_with(&[("SMTP_URL", &mail.url())]).await;
    add_user_with_email(&app, "dave", PASSWORD, "dave@example.com");
    let jwt = jwt_of(app.login("dave", PASSWORD).await).await;

    let asked = app
        .post_with(
            "/api/account/email",
            &json!({"email": "dave@new.example"}),
            &jwt,
        )
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    assert_eq!(profile(&app, &jwt).await["email"], "dave@example.com");

    let notice = mail
        .wait_for("dave@example.com", "new e-mail address")
        .await;
    assert!(
        !notice.text.contains("token="),
        "the old address gets no link"
    );
    let link = mail.wait_for("dave@new.example", "Confirm your new").await;
    let token = link.token(app.origin(), "/verify-email", "token");
    let verified = app
        .post_json("/api/email/verify", &json!({"token": token}), None)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    let now = profile(&app, &jwt).await;
    assert_eq!(now["email"], "dave@new.example");
    assert_eq!(now["email_verified"], true);

    // An address another account has: the same answer, and that address hears of it.
    add_user_with_email(&app, "erin", PASSWORD, "erin@example.com");
    let taken = app
        .post_with(
            "/api/account/email",
            &json!({"email": "ERIN@example.com"}),
            &jwt,
        )
        .await;
    assert_eq!(taken.status(), StatusCode::ACCEPTED);
    mail.wait_for("ERIN@example.com", "already have an account")
        .await;
    assert_eq!(profile(&app, &jwt).await["email"], "dave@new.example");
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_ends_everything_but_the_log() {
    let app = spawn_app().await;
    add_user_with_email(&app, "frank", PASSWORD, "frank@example.com");
    let login = app.login("frank", PASSWORD).await;
    let refresh = refresh_cookie(&login).unwrap();
    let jwt = jwt_of(login).await;

    let wrong = app
        .post_with(
            "/api/account/delete",
            &json!({"password": "not my password"}),
            &jwt,
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(wrong).await, "wrong_password");

    let deleted = app
        .post_with("/api/account/delete", &json!({"password": PASSWORD}), &jwt)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_secret(Some(&jwt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("frank", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM users WHERE username_key = 'frank')
              + (SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS
                    (SELECT 1 FROM users u WHERE u.id = s.user_id))",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(rows, 0, "the user's rows are gone");
    let events: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM auth_events WHERE username_key = 'frank' ORDER BY id")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert!(events.contains(&"user_created".to_owned()), "{events:?}");
    assert!(events.contains(&"account_deleted".to_owned()), "{events:?}");
}

#[tokio::test]
async fn the_last_admin_cannot_delete_their_account() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(ADMIN).await;
    let refused = app
        .post_with(
            "/api/account/delete",
            &json!({"password": ADMIN.password}),
            &jwt,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(refused).await, "last_admin");
    assert_eq!(app.get_secret(Some(&jwt)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_export_is_an_attachment_of_the_users_own_data() {
    let app = spawn_app().await;
    let (jwt, _) = app.tokens(USER).await;
    app.tokens(ADMIN).await;
    let response = app.get_with("/api/account/export", &jwt).await;
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["profile"]["username"], "user");
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    let events = export["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e["username"] == "user"),
        "only their own"
    );
    let text = export.to_string();
    assert!(
        !text.contains("token_hash") && !text.contains("password"),
        "{text}"
    );
}

#[tokio::test]
async fn security_notices_go_to_the_verified_address() {
    let mail = MailServer::start();
    let app = spawn_app_with(&[("SMTP_URL", &mail.url())]).await;
    add_user_with_email(&app, "gina", PASSWORD, "gina@example.com");

    // A login from a browser with no device cookie of this account.
    let login = app.login("gina", PASSWORD).await;
    let device = cookie_value(&login, DEVICE_COOKIE).unwrap();
    let jwt = jwt_of(login).await;
    let new_device = mail.wait_for("gina@example.com", "New sign-in").await;
    assert!(new_device.text.contains("127.0.0.1"), "{}", new_device.text);
    // The same browser again: no notice.
    let again = app
        .client
        .post(app.url("/api/login"))
        .header(header::COOKIE, format!("{DEVICE_COOKIE}={device}"))
        .json(&json!({"username": "gina", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);

    let changed = app
        .post_with(
            "/api/account/password",
            &json!({"current_password": PASSWORD, "new_password": "quartz meadow lantern 58"}),
            &jwt,
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    mail.wait_for("gina@example.com", "password was changed")
        .await;

    let (secret, _) = enrol(&app, &jwt).await;
    mail.wait_for(
        "gina@example.com",
        "Two-factor authentication was turned on",
    )
    .await;
    let disabled = app
        .post_with(
            "/api/account/mfa/totp/disable",
            &json!({"password": "quartz meadow lantern 58", "code": code(&secret, 0)}),
            &jwt,
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::NO_CONTENT);
    mail.wait_for("gina@example.com", "turned off").await;

    let new_sign_ins = mail
        .mails()
        .iter()
        .filter(|m| m.subject.contains("New sign-in"))
        .count();
    assert_eq!(new_sign_ins, 1, "a known device is not new");
    let noticed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM auth_events WHERE kind = 'notice_sent' AND username_key = 'gina'",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!(noticed, 4, "each notice is an audit event");
}
