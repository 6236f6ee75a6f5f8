//! `/api/admin/…`: accounts and the audit log, for administrators only.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn users(app: &TestApp, jwt: &str) -> Vec<Value> {
    let response = app.get_with("/api/admin/users", jwt).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["users"].as_array().unwrap().clone()
}

fn find<'a>(users: &'a [Value], name: &str) -> &'a Value {
    users.iter().find(|u| u["username"] == name).expect(name)
}

#[tokio::test]
async fn a_user_gets_403_from_every_admin_endpoint() {
    let app = spawn_app().await;
    let (user_jwt, _) = app.tokens(USER).await;

    for path in ["/api/admin/users", "/api/admin/events"] {
        let response = app.get_with(path, &user_jwt).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(error_code(response).await, "forbidden");
    }
    for (path, body) in [
        (
            "/api/admin/users/lock",
            json!({"username": "admin", "locked": true}),
        ),
        (
            "/api/admin/users/role",
            json!({"username": "user", "role": "admin"}),
        ),
        (
            "/api/admin/users/revoke-sessions",
            json!({"username": "admin"}),
        ),
    ] {
        let response = app.post_with(path, &body, &user_jwt).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "forbidden");
    }
    let anonymous = app
        .client
        .get(app.url("/api/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // Nothing changed: the user is still not an admin.
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    assert_eq!(find(&users(&app, &admin_jwt).await, "user")["role"], "user");
}

#[tokio::test]
async fn the_users_list_has_the_documented_fields() {
    let app = spawn_app().await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    app.tokens(USER).await;
    app.tokens(USER).await;

    let list = users(&app, &admin_jwt).await;

    let user = find(&list, "user");
    assert_eq!(user["role"], "user");
    assert_eq!(user["locked"], false);
    assert_eq!(user["sessions"], 2);
    assert!(user["created_at"].as_i64().unwrap() > 0);
    assert!(user["last_login_at"].as_i64().is_some());
    assert_eq!(user["totp_enabled"], false);
    assert_eq!(user["email"], Value::Null);
    assert_eq!(user["email_verified"], false);
    assert_eq!(user.as_object().unwrap().len(), 9, "{user}");
    assert_eq!(find(&list, "admin")["role"], "admin");
}

#[tokio::test]
async fn a_locked_account_cannot_log_in_or_refresh_and_its_sessions_end() {
    let app = spawn_app().await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    let (user_jwt, user_refresh) = app.tokens(USER).await;

    let lock = app
        .post_with(
            "/api/admin/users/lock",
            &json!({"username": "user", "locked": true}),
            &admin_jwt,
        )
        .await;

    assert_eq!(lock.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_secret(Some(&user_jwt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&user_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let login = app.login_as(USER).await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(login).await, "account_locked");
    assert_eq!(
        app.login(USER.name, "wrong").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(find(&users(&app, &admin_jwt).await, "user")["locked"], true);

    let unlock = app
        .post_with(
            "/api/admin/users/lock",
            &json!({"username": "user", "locked": false}),
            &admin_jwt,
        )
        .await;

    assert_eq!(unlock.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login_as(USER).await.status(), StatusCode::OK);
    let actors: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT kind, actor FROM auth_events WHERE kind IN ('account_locked', 'account_unlocked')
         ORDER BY id",
    )
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(
        actors,
        [
            ("account_locked".to_owned(), Some("admin".to_owned())),
            ("account_unlocked".to_owned(), Some("admin".to_owned()))
        ]
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_locked_or_demoted() {
    let app = spawn_app().await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;

    for (path, body) in [
        (
            "/api/admin/users/lock",
            json!({"username": "admin", "locked": true}),
        ),
        (
            "/api/admin/users/role",
            json!({"username": "admin", "role": "user"}),
        ),
    ] {
        let response = app.post_with(path, &body, &admin_jwt).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "last_admin");
        assert!(body["message"].as_str().unwrap().contains("administrator"));
    }
    assert_eq!(
        app.get_secret(Some(&admin_jwt)).await.status(),
        StatusCode::OK
    );

    // With a second admin, the first may step down.
    let promote = app
        .post_with(
            "/api/admin/users/role",
            &json!({"username": "user", "role": "admin"}),
            &admin_jwt,
        )
        .await;
    assert_eq!(promote.status(), StatusCode::NO_CONTENT);
    let demote = app
        .post_with(
            "/api/admin/users/role",
            &json!({"username": "admin", "role": "user"}),
            &admin_jwt,
        )
        .await;
    assert_eq!(demote.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_role_change_ends_the_users_sessions_so_it_applies_at_once() {
    let app = spawn_app().await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    let (user_jwt, user_refresh) = app.tokens(USER).await;

    let response = app
        .post_with(
            "/api/admin/users/role",
            &json!({"username": "user", "role": "admin"}),
            &admin_jwt,
        )
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_secret(Some(&user_jwt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&user_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let body: Value = app.login_as(USER).await.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    let bad_role = app
        .post_with(
            "/api/admin/users/role",
            &json!({"username": "user", "role": "root"}),
            &admin_jwt,
        )
        .await;
    assert_eq!(bad_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let nobody = app
        .post_with(
            "/api/admin/users/role",
            &json!({"username": "nobody", "role": "user"}),
            &admin_jwt,
        )
        .await;
    assert_eq!(nobody.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ending_all_sessions_of_a_user() {
    let app = spawn_app().await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    let (first, _) = app.tokens(USER).await;
    let (second, _) = app.tokens(USER).await;

    let response = app
        .post_with(
            "/api/admin/users/revoke-sessions",
            &json!({"username": "user"}),
            &admin_jwt,
        )
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for jwt in [&first, &second] {
        assert_eq!(
            app.get_secret(Some(jwt)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(find(&users(&app, &admin_jwt).await, "user")["sessions"], 0);
    assert_eq!(
        app.get_secret(Some(&admin_jwt)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_and_filters_by_user_and_kind() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "100"), ("LOGIN_RATE_BURST", "200")]).await;
    let (admin_jwt, _) = app.tokens(ADMIN).await;
    for _ in 0..60 {
        app.login(USER.name, "wrong").await;
    }
    app.post_with(
        "/api/admin/users/lock",
        &json!({"username": "user", "locked": true}),
        &admin_jwt,
    )
    .await;

    let first: Value = app
        .get_with("/api/admin/events", &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 50);
    assert_eq!(events[0]["kind"], "account_locked", "newest first");
    assert_eq!(events[0]["actor"], "admin");
    assert_eq!(events[0]["username"], "user");
    let times: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    for field in ["at", "kind", "username", "ip", "user_agent", "actor"] {
        assert!(events[1].get(field).is_some(), "{field}");
    }
    let cursor = first["next_cursor"].as_str().expect("more pages");

    let second: Value = app
        .get_with(&format!("/api/admin/events?cursor={cursor}"), &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    let rest = second["events"].as_array().unwrap();
    assert!(!rest.is_empty() && rest.len() < 50);
    assert!(second["next_cursor"].is_null());
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_events")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(
        50 + rest.len() as i64,
        total,
        "every event on exactly one page"
    );

    let failures: Value = app
        .get_with(
            "/api/admin/events?username=USER&kind=login_failure",
            &admin_jwt,
        )
        .await
        .json()
        .await
        .unwrap();
    let failures = failures["events"].as_array().unwrap();
    assert_eq!(failures.len(), 50);
    assert!(failures
        .iter()
        .all(|e| e["kind"] == "login_failure" && e["username"] == "user"));
    let admins: Value = app
        .get_with("/api/admin/events?username=admin&kind=", &admin_jwt)
        .await
        .json()
        .await
        .unwrap();
    assert!(admins["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["username"] == "admin"));

    for bad in ["?cursor=abc", "?cursor=-1", "?kind=nope"] {
        let response = app
            .get_with(&format!("/api/admin/events{bad}"), &admin_jwt)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_command_line_lists_locks_unlocks_and_changes_roles() {
    let app = spawn_app().await;
    let (user_jwt, _) = app.tokens(USER).await;
    let run = |args: &[&str]| {
        let output = run_cli(&app, args, "");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };

    let list = run(&["user", "list"]);
    assert!(
        list.contains("admin") && list.contains("user") && list.contains("active"),
        "{list}"
    );

    run(&["user", "lock", "user"]);
    assert_eq!(app.login_as(USER).await.status(), StatusCode::FORBIDDEN);
    assert!(run(&["user", "list"]).contains("locked"));
    run(&["user", "unlock", "user"]);
    assert_eq!(app.login_as(USER).await.status(), StatusCode::OK);
    run(&["user", "role", "user", "admin"]);
    let body: Value = app.login_as(USER).await.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    let _ = user_jwt;

    // The last-admin rule holds on the command line too.
    run(&["user", "role", "user", "user"]);
    let refused = run_cli(&app, &["user", "lock", "admin"], "");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no active administrator"));
    let actors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT actor FROM auth_events WHERE kind = 'role_changed'")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert!(actors.iter().all(|a| a.as_deref() == Some("cli")));
}
