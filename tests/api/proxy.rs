//! Behind a proxy: `X-Forwarded-For` is believed from `TRUSTED_PROXIES` only, also when the
//! server listens on `[::]` (where an IPv4 proxy's address arrives IPv4-mapped), and hops with
//! ports are read as their addresses.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn login_forwarded_for(app: &TestApp, hop: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", hop)
        .json(&json!({"username": USER.name, "password": USER.password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn forty_clients_behind_a_trusted_proxy_on_a_dual_stack_listener_are_forty_clients() {
    let app = spawn_app_on_every_address(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;

    for n in 1..=40 {
        let response = login_forwarded_for(&app, &format!("198.51.100.{n}")).await;
        assert_eq!(response.status(), StatusCode::OK, "client {n}");
    }

    let addresses: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT ip FROM auth_events WHERE kind = 'login_success' AND ip LIKE '198.51.100.%'",
    )
    .fetch_all(app.db())
    .await
    .unwrap();
    assert_eq!(addresses.len(), 40, "{addresses:?}");
}

#[tokio::test]
async fn hops_with_ports_are_their_addresses() {
    let app = spawn_app_on_every_address(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;

    for hop in ["198.51.100.7:5678", "[2001:db8::7]:443"] {
        assert_eq!(
            login_forwarded_for(&app, hop).await.status(),
            StatusCode::OK
        );
    }

    let addresses: Vec<String> =
        sqlx::query_scalar("SELECT ip FROM auth_events WHERE kind = 'login_success' ORDER BY id")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert_eq!(addresses, ["198.51.100.7", "2001:db8::7"]);
}

#[tokio::test]
async fn without_trusting_the_proxy_everyone_behind_it_is_one_address() {
    let app = spawn_app_on_every_address(&[]).await;

    let mut refused = 0;
    for n in 1..=40 {
        if login_forwarded_for(&app, &format!("198.51.100.{n}"))
            .await
            .status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            refused += 1;
        }
    }

    assert!(refused > 0, "the per-address bucket saw one address");
    let addresses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT ip FROM auth_events WHERE ip IS NOT NULL")
            .fetch_all(app.db())
            .await
            .unwrap();
    assert_eq!(addresses, ["127.0.0.1"]);
}
