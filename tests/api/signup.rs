//! Opening accounts over real HTTP with a real SMTP server: closed, open and invite modes,
//! verification, resending, and no answer that tells whether an address has an account.

use crate::helpers::*;
use crate::mailbox::MailServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "tangerine orbit velvet 93";

async fn open_app(mail: &MailServer) -> TestApp {
    spawn_app_with(&[("SIGNUP_MODE", "open"), ("SMTP_URL", &mail.url())]).await
}

async fn sign_up(app: &TestApp, username: &str, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/signup",
        &json!({"username": username, "email": email, "password": password}),
        None,
    )
    .await
}

async fn users_named(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE username_key = $1")
        .bind(name.to_lowercase())
        .fetch_one(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_up_is_closed_by_default_and_invite_mode_needs_an_invitation() {
    let app = spawn_app().await;
    let response = sign_up(&app, "carol", "carol@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "signup_closed");

    let invite_only = spawn_app_with(&[("SIGNUP_MODE", "invite")]).await;
    let response = sign_up(&invite_only, "carol", "carol@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "signup_closed");
    assert_eq!(users_named(&invite_only, "carol").await, 0);
}

#[tokio::test]
async fn an_open_sign_up_verifies_its_address_before_it_can_log_in() {
    let mail = MailServer::start();
    let app = open_app(&mail).await;

    let response = sign_up(&app, "carol", "Carol@Example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "verification_sent"})
    );
    assert_eq!(
        users_named(&app, "carol").await,
        1,
        "the account exists, unverified"
    );

    // Only the right password learns that the address is not verified yet.
    let wrong = app.login("carol", "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = app.login("carol", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(right).await, "email_not_verified");

    let verification = mail
        .wait_for("Carol@Example.com", "Confirm your e-mail")
        .await;
    assert!(verification.html.contains("/verify-email?token="));
    let token = verification.token(app.origin(), "/verify-email", "token");
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    // Only the token's hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_links WHERE id = $1")
        .bind(&token)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let verified = app
        .post_json("/api/email/verify", &json!({"token": token}), None)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    let again = app
        .post_json("/api/email/verify", &json!({"token": token}), None)
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(again).await, "invalid_link");

    let login = app.login("carol", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let jwt = login.json::<Value>().await.unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned();
    let profile: Value = app
        .get_with("/api/account/profile", &jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], "Carol@Example.com");
    assert_eq!(profile["email_verified"], true);
}

#[tokio::test]
async fn an_address_with_an_account_gets_the_same_answer_and_a_mail_instead() {
    let mail = MailServer::start();
    let app = open_app(&mail).await;
    add_user_with_email(&app, "dave", PASSWORD, "dave@example.com");

    let fresh = sign_up(&app, "erin", "erin@example.com", PASSWORD).await;
    let taken = sign_up(&app, "mallory", "DAVE@example.com", PASSWORD).await;
    assert_eq!(fresh.status(), StatusCode::ACCEPTED);
    assert_eq!(taken.status(), StatusCode::ACCEPTED);
    assert_eq!(
        fresh.json::<Value>().await.unwrap(),
        taken.json::<Value>().await.unwrap()
    );
    assert_eq!(users_named(&app, "mallory").await, 0, "no second account");

    let notice = mail
        .wait_for("DAVE@example.com", "already have an account")
        .await;
    assert!(notice.text.contains("\"dave\""), "{}", notice.text);
    assert!(notice
        .link(&format!("{}/forgot-password", app.origin()))
        .is_some());
    assert!(!notice.text.contains("token="), "no link that acts");
}

#[tokio::test]
async fn sign_up_refuses_taken_names_weak_passwords_and_bad_addresses() {
    let mail = MailServer::start();
    let app = open_app(&mail).await;

    let taken = sign_up(&app, "USER", "someone@example.com", PASSWORD).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(taken).await, "username_taken");

    let weak = sign_up(&app, "frank", "frank@example.com", "passwordpassword").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = weak.json().await.unwrap();
    assert_eq!(body["error"], "weak_password");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("too easy to guess"),
        "{body}"
    );
    let short = sign_up(&app, "frank", "frank@example.com", "short").await;
    assert_eq!(error_code(short).await, "weak_password");
    let is_name = sign_up(&app, "frank-the-tank", "f@example.com", "Frank-The-Tank").await;
    assert_eq!(error_code(is_name).await, "weak_password");

    for address in ["not an address", "frank@", "frank@localhost", ""] {
        let bad = sign_up(&app, "frank", address, PASSWORD).await;
        assert_eq!(
            bad.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address:?}"
        );
        assert_eq!(error_code(bad).await, "invalid_request");
    }
    assert_eq!(users_named(&app, "frank").await, 0);
}

#[tokio::test]
async fn the_verification_mail_can_be_sent_again_and_links_expire() {
    let mail = MailServer::start();
    let app = open_app(&mail).await;
    sign_up(&app, "grace", "grace@example.com", PASSWORD).await;
    let first = mail.wait_for("grace@example.com", "Confirm").await;

    for address in ["grace@example.com", "nobody@example.com"] {
        let response = app
            .post_json("/api/email/resend", &json!({"email": address}), None)
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{address}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"status": "verification_sent"})
        );
    }
    let deadline = std::time::Instant::now() + crate::mailbox::MAIL_WAIT;
    while mail.mails().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no second mail");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let mails = mail.mails();
    assert!(
        mails.iter().all(|m| m.to.contains("grace@")),
        "none to nobody@"
    );
    let second = mails.last().unwrap();
    assert_ne!(
        first.token(app.origin(), "/verify-email", "token"),
        second.token(app.origin(), "/verify-email", "token")
    );

    // A day later both links are dead.
    app.advance(86_400 + 1);
    for m in [&first, second] {
        let token = m.token(app.origin(), "/verify-email", "token");
        let response = app
            .post_json("/api/email/verify", &json!({"token": token}), None)
            .await;
        assert_eq!(error_code(response).await, "invalid_link");
    }
    let unknown = app
        .post_json("/api/email/verify", &json!({"token": "x".repeat(43)}), None)
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(unknown).await, "invalid_link");
}

#[tokio::test]
async fn an_invitation_opens_one_account_with_its_role_and_logs_it_in() {
    let mail = MailServer::start();
    let app = spawn_app_with(&[("SIGNUP_MODE", "invite"), ("SMTP_URL", &mail.url())]).await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    let (user_jwt, _) = app.tokens(USER).await;

    let body = json!({"email": "heidi@example.com", "role": "admin"});
    let forbidden = app
        .post_with("/api/admin/invitations", &body, &user_jwt)
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let created = app
        .post_with("/api/admin/invitations", &body, &admin_jwt)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let invitation: Value = created.json().await.unwrap();
    assert_eq!(invitation["email"], "heidi@example.com");
    assert_eq!(invitation["role"], "admin");
    assert!(invitation["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(invitation["expires_at"].as_i64().unwrap() >= app.now() + 604_800 - 5);

    let pending: Value = app
        .get_with("/api/admin/invitations", &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["invitations"][0]["id"], invitation["id"]);

    let letter = mail.wait_for("heidi@example.com", "invited").await;
    let invite = letter.token(app.origin(), "/signup", "invite");
    let signed_up = app
        .post_json(
            "/api/signup",
            &json!({"username": "heidi", "password": PASSWORD, "invite": invite}),
            None,
        )
        .await;
    assert_eq!(signed_up.status(), StatusCode::OK);
    assert!(
        refresh_cookie(&signed_up).is_some(),
        "logged in: a refresh cookie"
    );
    let token: Value = signed_up.json().await.unwrap();
    assert_eq!(token["username"], "heidi");
    assert_eq!(token["role"], "admin");
    let jwt = token["jwt"].as_str().unwrap();
    assert_eq!(app.get_secret(Some(jwt)).await.status(), StatusCode::OK);
    let profile: Value = app
        .get_with("/api/account/profile", jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], "heidi@example.com");
    assert_eq!(profile["email_verified"], true, "the invitation proved it");

    let reused = app
        .post_json(
            "/api/signup",
            &json!({"username": "heidi2", "password": PASSWORD, "invite": invite}),
            None,
        )
        .await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(reused).await, "invalid_link");
    let pending: Value = app
        .get_with("/api/admin/invitations", &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["invitations"], json!([]));
}

#[tokio::test]
async fn a_taken_name_leaves_the_invitation_usable() {
    let mail = MailServer::start();
    let app = spawn_app_with(&[("SIGNUP_MODE", "invite"), ("SMTP_URL", &mail.url())]).await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    let body = json!({"email": "ivan@example.com", "role": "user"});
    app.post_with("/api/admin/invitations", &body, &admin_jwt)
        .await;
    let invite =
        mail.wait_for("ivan@example.com", "invited")
            .await
            .token(app.origin(), "/signup", "invite");
    let body = |name: &str| json!({"username": name, "password": PASSWORD, "invite": invite});
    let taken = app.post_json("/api/signup", &body("user"), None).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(taken).await, "username_taken");
    let ivan = app.post_json("/api/signup", &body("ivan"), None).await;
    assert_eq!(ivan.status(), StatusCode::OK);
}
