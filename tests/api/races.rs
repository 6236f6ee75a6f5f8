//! Logins in flight against changes that end a user's sessions: a lock, a demotion, a new
//! password, a removal. Whatever the interleaving, no token a login handed out survives the
//! change, and logins answered after it are refused.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the login loops received.
#[derive(Default)]
struct Harvest {
    /// (access token, refresh token) of every successful login.
    tokens: Vec<(String, String)>,
    /// The error codes of the refused ones.
    refusals: Vec<String>,
}

/// Eight clients, from eight addresses, logging in as `name` back to back until `stop`.
fn login_loops(
    app: &TestApp,
    name: &str,
    password: &str,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Harvest>> {
    (0..8)
        .map(|i| {
            let (base, name, password) = (app.url(""), name.to_owned(), password.to_owned());
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut harvest = Harvest::default();
                let ip = format!("127.0.1.{}", i + 1);
                while !stop.load(Ordering::Relaxed) {
                    let response = login_from(&base, &ip, &name, &password).await;
                    if response.status() == StatusCode::OK {
                        let cookie = refresh_cookie(&response).unwrap();
                        let body: Value = response.json().await.unwrap();
                        let jwt = body["jwt"].as_str().unwrap().to_owned();
                        harvest.tokens.push((jwt, cookie));
                    } else {
                        let body: Value = response.json().await.unwrap();
                        harvest
                            .refusals
                            .push(body["error"].as_str().unwrap().to_owned());
                    }
                }
                harvest
            })
        })
        .collect()
}

/// Lets the loops log in a few times, runs `change`, lets them go on a little, and collects.
async fn race<F, Fut>(app: &TestApp, name: &str, password: &str, change: F) -> Harvest
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let loops = login_loops(app, name, password, &stop);
    // Wait until logins are flowing (a count, not a time).
    while successful_logins(app, name).await < 8 {
        tokio::task::yield_now().await;
    }
    change().await;
    // A few more rounds after the change: those are answered after it.
    let after = successful_logins(app, name).await + failed_attempts(app).await;
    while successful_logins(app, name).await + failed_attempts(app).await < after + 8 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Harvest::default();
    for handle in loops {
        let harvest = handle.await.unwrap();
        all.tokens.extend(harvest.tokens);
        all.refusals.extend(harvest.refusals);
    }
    all
}

async fn successful_logins(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM auth_events WHERE kind = 'login_success' AND username = $1",
    )
    .bind(name)
    .fetch_one(app.db())
    .await
    .unwrap()
}

async fn failed_attempts(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM auth_events WHERE kind IN ('login_locked', 'login_failure')",
    )
    .fetch_one(app.db())
    .await
    .unwrap()
}

/// Every access token is refused by the protected API and every refresh cookie by refresh.
async fn assert_all_refused(app: &TestApp, tokens: &[(String, String)]) {
    assert!(!tokens.is_empty(), "the race produced logins");
    for (jwt, cookie) in tokens {
        assert_eq!(
            app.get_secret(Some(jwt)).await.status(),
            StatusCode::UNAUTHORIZED,
            "an access token survived"
        );
        assert_eq!(
            app.refresh(cookie).await.status(),
            StatusCode::UNAUTHORIZED,
            "a refresh cookie survived"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_a_lock_keep_no_token_and_later_ones_are_locked() {
    let app = spawn_app_with(&[("LOGIN_RATE_BURST", "100000")]).await;
    add_user(&app, "racer", "racer's long password", "admin");
    let (admin_jwt, _) = app.tokens(ADMIN).await;

    let harvest = race(&app, "racer", "racer's long password", || async {
        let locked = app
            .post_with(
                "/api/admin/users/lock",
                &json!({"username": "racer", "locked": true}),
                &admin_jwt,
            )
            .await;
        assert_eq!(locked.status(), StatusCode::NO_CONTENT);
    })
    .await;

    assert_all_refused(&app, &harvest.tokens).await;
    assert!(
        harvest.refusals.iter().any(|code| code == "account_locked"),
        "logins after the lock: {:?}",
        harvest.refusals
    );
    assert!(harvest.refusals.iter().all(|code| code == "account_locked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_a_demotion_keep_no_admin_token() {
    let app = spawn_app_with(&[("LOGIN_RATE_BURST", "100000")]).await;
    add_user(&app, "deputy", "deputy's long password", "admin");
    let (admin_jwt, _) = app.tokens(ADMIN).await;

    let harvest = race(&app, "deputy", "deputy's long password", || async {
        let demoted = app
            .post_with(
                "/api/admin/users/role",
                &json!({"username": "deputy", "role": "user"}),
                &admin_jwt,
            )
            .await;
        assert_eq!(demoted.status(), StatusCode::NO_CONTENT);
    })
    .await;

    let admin_tokens: Vec<_> = harvest
        .tokens
        .iter()
        .filter(|(jwt, _)| claims_of(jwt)["role"] == "admin")
        .cloned()
        .collect();
    assert_all_refused(&app, &admin_tokens).await;
    for (jwt, _) in &admin_tokens {
        let users = app.get_with("/api/admin/users", jwt).await;
        assert_eq!(users.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_a_password_change_keep_no_session() {
    let app = spawn_app_with(&[("LOGIN_RATE_BURST", "100000")]).await;
    add_user(&app, "changer", "the old long password", "user");
    let own = app.login("changer", "the old long password").await;
    let own_jwt = own.json::<Value>().await.unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned();

    let harvest = race(&app, "changer", "the old long password", || async {
        let changed = app
            .post_with(
                "/api/account/password",
                &json!({"current_password": "the old long password",
                        "new_password": "a brand new long password"}),
                &own_jwt,
            )
            .await;
        assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    })
    .await;

    assert_all_refused(&app, &harvest.tokens).await;
    assert!(harvest
        .refusals
        .iter()
        .all(|code| code == "invalid_credentials"));
    // The session that changed it stays.
    assert_eq!(
        app.get_secret(Some(&own_jwt)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_a_removal_from_the_command_line_keep_no_token() {
    let app = spawn_app_with(&[("LOGIN_RATE_BURST", "100000")]).await;
    add_user(&app, "leaver", "leaver's long password", "user");

    let harvest = race(&app, "leaver", "leaver's long password", || async {
        let removed = run_cli(&app, &["user", "remove", "leaver"], "");
        assert!(removed.status.success());
        // The command is another process: this server learns of it from the revocations
        // table (within a second, as the README promises).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM session_revocations")
                .fetch_one(app.db())
                .await
                .unwrap();
            if seen > 0 || std::time::Instant::now() > deadline {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    for (jwt, _) in &harvest.tokens {
        loop {
            let status = app.get_secret(Some(jwt)).await.status();
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a token outlived the removal by 1 s"
            );
            tokio::task::yield_now().await;
        }
    }
    assert_all_refused(&app, &harvest.tokens).await;
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_removed_from_the_command_line() {
    let app = spawn_app().await;

    let output = run_cli(&app, &["user", "remove", "admin"], "");

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("last admin"));
    assert_eq!(app.login_as(ADMIN).await.status(), StatusCode::OK);
}
