//! The outbox: mail written in the transaction of its change, delivered by a worker, exactly
//! once across instances, to `DATA_DIR/outbox/` in development without `SMTP_URL`, and the
//! failed ones shown to admins and sent again on request.

use crate::helpers::*;
use crate::mailbox::{read_maildir, wait_for_mail, MailServer, MAIL_WAIT};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "tangerine orbit velvet 93";

#[tokio::test]
async fn without_smtp_development_writes_mail_to_the_outbox_folder() {
    let app = spawn_app_with(&[("SIGNUP_MODE", "open")]).await;
    let response = app
        .post_json(
            "/api/signup",
            &json!({"username": "carol", "email": "carol@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let outbox = app.data_dir().join("outbox");
    let mail = wait_for_mail(|| read_maildir(&outbox), "carol@example.com", "Confirm").await;
    assert!(mail.from.contains("no-reply@localhost"), "{}", mail.from);
    let token = mail.token(app.origin(), "/verify-email", "token");
    let verified = app
        .post_json("/api/email/verify", &json!({"token": token}), None)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn two_instances_deliver_each_mail_exactly_once() {
    let mail = MailServer::start();
    let first = spawn_app_with(&[("SMTP_URL", &mail.url())]).await;
    let second = first.second_instance(&[]).await;
    const USERS: usize = 12;
    for i in 0..USERS {
        add_user_with_email(
            &first,
            &format!("u{i}"),
            PASSWORD,
            &format!("u{i}@example.com"),
        );
    }
    // Half the requests to each instance, so both workers have mail to claim.
    for i in 0..USERS {
        let app = if i % 2 == 0 { &first } else { &second };
        let response = app
            .post_json(
                "/api/password/forgot",
                &json!({"email": format!("u{i}@example.com")}),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE state = 'sent'")
            .fetch_one(first.db())
            .await
            .unwrap();
        if sent == USERS as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "only {sent} of {USERS} sent");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mails = mail.mails();
    assert_eq!(mails.len(), USERS, "one mail per request, none twice");
    for i in 0..USERS {
        let to = format!("u{i}@example.com");
        assert_eq!(
            mails.iter().filter(|m| m.to.contains(&to)).count(),
            1,
            "{to}"
        );
    }
}

#[tokio::test]
async fn admins_see_failed_mail_and_can_send_it_again() {
    let mail = MailServer::start();
    let app = spawn_app_with(&[("SMTP_URL", &mail.url())]).await;
    add_user_with_email(&app, "dave", PASSWORD, "dave@example.com");
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    app.post_json(
        "/api/password/forgot",
        &json!({"email": "dave@example.com"}),
        None,
    )
    .await;
    mail.wait_for("dave@example.com", "Reset").await;
    // As if every attempt had failed.
    sqlx::query(
        "UPDATE mail_outbox SET state = 'failed', attempts = 8, last_error = 'connection refused'",
    )
    .execute(app.db())
    .await
    .unwrap();
    let before = mail.mails().len();

    let failed: Value = app
        .get_with("/api/admin/mail/failed", &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    let row = &failed["mails"][0];
    assert_eq!(row["kind"], "reset_password");
    assert_eq!(row["recipient"], "dave@example.com");
    assert_eq!(row["attempts"], 8);
    assert_eq!(row["last_error"], "connection refused");
    let (user_jwt, _) = app.tokens(USER).await;
    assert_eq!(
        app.get_with("/api/admin/mail/failed", &user_jwt)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let id = row["id"].as_i64().unwrap();
    // A sent mail's content is gone, so only a mail that was never sent can be sent again.
    let gone = app
        .post_with("/api/admin/mail/retry", &json!({"id": id}), &admin_jwt)
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(mail.mails().len(), before);
}

#[tokio::test]
async fn a_mail_that_could_not_be_sent_is_sent_again_on_request() {
    let mut mail = MailServer::start();
    let app = spawn_app_with(&[("SMTP_URL", &mail.url())]).await;
    add_user_with_email(&app, "erin", PASSWORD, "erin@example.com");
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    mail.stop();
    app.post_json(
        "/api/password/forgot",
        &json!({"email": "erin@example.com"}),
        None,
    )
    .await;
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM mail_outbox WHERE state = 'pending'")
                .fetch_optional(app.db())
                .await
                .unwrap();
        if attempts.unwrap_or(0) >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt yet");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The attempts ran out (as after two hours of retries).
    sqlx::query("UPDATE mail_outbox SET state = 'failed', attempts = 8")
        .execute(app.db())
        .await
        .unwrap();
    mail.restart();
    let failed: Value = app
        .get_with("/api/admin/mail/failed", &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    let id = failed["mails"][0]["id"].as_i64().unwrap();
    let retried = app
        .post_with("/api/admin/mail/retry", &json!({"id": id}), &admin_jwt)
        .await;
    assert_eq!(retried.status(), StatusCode::NO_CONTENT);
    mail.wait_for("erin@example.com", "Reset").await;
}
