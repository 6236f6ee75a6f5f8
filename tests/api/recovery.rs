//! "Forgot your password?" over real HTTP with a real SMTP server: one answer for every
//! address, a single-use link, every session ended by the reset, the second factor kept, the
//! throttle, and mail that survives the mail server being down.

use crate::helpers::*;
use crate::mailbox::MailServer;
use crate::mfa::enrol;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "tangerine orbit velvet 93";
const NEW_PASSWORD: &str = "quartz meadow lantern 58";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/password/forgot", &json!({"email": email}), None)
        .await
}

async fn reset(app: &TestApp, token: &str, new_password: &str) -> reqwest::Response {
    app.post_json(
        "/api/password/reset",
        &json!({"token": token, "new_password": new_password}),
        None,
    )
    .await
}

async fn app_with_mail(mail: &MailServer) -> TestApp {
    spawn_app_with(&[("SMTP_URL", &mail.url())]).await
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_every_session() {
    let mail = MailServer::start();
    let app = app_with_mail(&mail).await;
    add_user_with_email(&app, "carol", PASSWORD, "carol@example.com");
    let (jwt, refresh) = {
        let response = app.login("carol", PASSWORD).await;
        let token = refresh_cookie(&response).unwrap();
        let body: Value = response.json().await.unwrap();
        (body["jwt"].as_str().unwrap().to_owned(), token)
    };

    let known = forgot(&app, "CAROL@example.com").await;
    let unknown = forgot(&app, "nobody@example.com").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let (known, unknown): (Value, Value) =
        (known.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(known, json!({"status": "reset_sent"}));
    assert_eq!(
        known, unknown,
        "the same body whether or not an account has it"
    );

    let letter = mail
        .wait_for("carol@example.com", "Reset your password")
        .await;
    let token = letter.token(app.origin(), "/reset-password", "token");

    let done = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    // Every session ended at once: the access token and the refresh cookie are refused.
    assert_eq!(
        app.get_secret(Some(&jwt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("carol", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("carol", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    let again = reset(&app, &token, "another fine passphrase 7").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(again).await, "invalid_link");

    let notice = mail
        .wait_for("carol@example.com", "password was reset")
        .await;
    assert!(notice.text.contains("carol"));
    assert!(mail.mails().iter().all(|m| !m.to.contains("nobody@")));
}

#[tokio::test]
async fn a_newer_link_and_a_reset_kill_the_other_links_and_expiry_kills_all() {
    let mail = MailServer::start();
    let app = app_with_mail(&mail).await;
    add_user_with_email(&app, "dave", PASSWORD, "dave@example.com");
    forgot(&app, "dave@example.com").await;
    let first = mail.wait_for("dave@example.com", "Reset").await;
    forgot(&app, "dave@example.com").await;
    let deadline = std::time::Instant::now() + crate::mailbox::MAIL_WAIT;
    while mail.mails().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second reset mail");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let second = mail.mails().pop().unwrap();
    let (first, second) = (
        first.token(app.origin(), "/reset-password", "token"),
        second.token(app.origin(), "/reset-password", "token"),
    );
    assert_ne!(first, second);
    assert_eq!(
        error_code(reset(&app, &first, NEW_PASSWORD).await).await,
        "invalid_link"
    );

    // Half an hour later the newer one is dead too.
    app.advance(1_800 + 1);
    let expired = reset(&app, &second, NEW_PASSWORD).await;
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(expired).await, "invalid_link");
    assert_eq!(app.login("dave", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_weak_new_password_is_refused_and_the_link_still_works() {
    let mail = MailServer::start();
    let app = app_with_mail(&mail).await;
    add_user_with_email(&app, "erin", PASSWORD, "erin@example.com");
    forgot(&app, "erin@example.com").await;
    let token = mail.wait_for("erin@example.com", "Reset").await.token(
        app.origin(),
        "/reset-password",
        "token",
    );

    for weak in ["short", "passwordpassword", "erin@example.com"] {
        let response = reset(&app, &token, weak).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{weak}"
        );
        assert_eq!(error_code(response).await, "weak_password");
    }
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn the_second_factor_is_still_asked_after_a_reset() {
    let mail = MailServer::start();
    let app = app_with_mail(&mail).await;
    add_user_with_email(&app, "frank", PASSWORD, "frank@example.com");
    let login = app.login("frank", PASSWORD).await;
    let jwt = login.json::<Value>().await.unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    enrol(&app, &jwt).await;

    forgot(&app, "frank@example.com").await;
    let token = mail.wait_for("frank@example.com", "Reset").await.token(
        app.origin(),
        "/reset-password",
        "token",
    );
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );

    let login = app.login("frank", NEW_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("jwt").is_none());
}

#[tokio::test]
async fn forgot_is_throttled_per_recipient_and_per_client_address() {
    let mail = MailServer::start();
    let app = app_with_mail(&mail).await;
    for i in 0..5 {
        assert_eq!(
            forgot(&app, "gina@example.com").await.status(),
            StatusCode::ACCEPTED,
            "{i}"
        );
    }
    let refused = forgot(&app, "gina@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await, "too_many_attempts");

    // One address, many recipients: 20 requests in the window, then 429.
    let from = client_from("127.0.0.9");
    let ask = |i: usize| {
        from.post(app.url("/api/password/forgot"))
            .json(&json!({"email": format!("someone{i}@example.com")}))
            .send()
    };
    for i in 0..20 {
        assert_eq!(ask(i).await.unwrap().status(), StatusCode::ACCEPTED, "{i}");
    }
    assert_eq!(
        ask(20).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_mail_there_is_no_password_reset() {
    let app = spawn_app_with(&[
        ("LEPTOS_ENV", "PROD"),
        ("PUBLIC_ORIGIN", "http://127.0.0.1:9"),
    ])
    .await;
    let response = forgot(&app, "carol@example.com").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
    let login = app.get_page("/login", None).await.text().await.unwrap();
    assert!(!login.contains("Forgot your password?"));
}

#[tokio::test]
async fn a_reset_asked_while_the_mail_server_is_down_arrives_once_it_is_back() {
    let mut mail = MailServer::start();
    let app = app_with_mail(&mail).await;
    add_user_with_email(&app, "hank", PASSWORD, "hank@example.com");
    mail.stop();

    assert_eq!(
        forgot(&app, "hank@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    // The worker tried, failed and scheduled a retry: the mail waits in the outbox.
    let deadline = std::time::Instant::now() + crate::mailbox::MAIL_WAIT;
    loop {
        let (state, attempts): (String, i64) =
            sqlx::query_as("SELECT state, attempts FROM mail_outbox WHERE kind = 'reset_password'")
                .fetch_optional(app.db())
                .await
                .unwrap()
                .unwrap_or_else(|| ("none".into(), 0));
        if state == "pending" && attempts >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failed attempt: {state}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    mail.restart();
    app.advance(60);
    let letter = mail.wait_for("hank@example.com", "Reset").await;
    let token = letter.token(app.origin(), "/reset-password", "token");
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed FROM mail_outbox WHERE kind = 'reset_password'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert!(sealed.is_none(), "a sent mail's content is dropped");
}
