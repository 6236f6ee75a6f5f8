//! Several instances of the server on one database, as behind a load balancer: a session
//! moves freely between them, concurrent refreshes converge on one token whichever instance
//! answers, and a logout on one instance reaches the access tokens checked by the other.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_started_on_one_instance_goes_on_at_the_other() {
    let a = spawn_app().await;
    let b = a.second_instance(&[]).await;
    let (_, cookie) = a.login_user().await;

    let response = b.refresh(&cookie).await;

    assert_eq!(response.status(), StatusCode::OK);
    let rotated = refresh_cookie(&response).expect("rotated cookie");
    let body: Value = response.json().await.unwrap();
    let jwt_from_b = body["jwt"].as_str().unwrap();
    assert_eq!(
        a.get_secret(Some(jwt_from_b)).await.status(),
        StatusCode::OK
    );
    assert_eq!(a.refresh(&rotated).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_refuses_the_access_token_on_the_other_within_a_second() {
    let a = spawn_app().await;
    let b = a.second_instance(&[]).await;
    let (jwt, cookie) = a.login_user().await;
    assert_eq!(a.get_secret(Some(&jwt)).await.status(), StatusCode::OK);

    assert_eq!(b.logout(&cookie).await.status(), StatusCode::NO_CONTENT);
    let logged_out = Instant::now();

    // A learns of the revocation without any request of ours reaching the database.
    let response = loop {
        let response = a.get_secret(Some(&jwt)).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            break response;
        }
        assert!(
            logged_out.elapsed() < Duration::from_secs(1),
            "instance A still accepts the token {:?} after the logout on B",
            logged_out.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(error_code(response).await, "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_refreshes_split_across_two_instances_yield_one_token() {
    let a = spawn_app().await;
    let b = a.second_instance(&[]).await;
    let (_, cookie) = a.login_user().await;

    let requests = (0..50).map(|i| {
        let (client, url) = if i % 2 == 0 {
            (a.client.clone(), a.url("/api/refresh"))
        } else {
            (b.client.clone(), b.url("/api/refresh"))
        };
        let cookie = cookie.clone();
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header(reqwest::header::COOKIE, format!("{COOKIE}={cookie}"))
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            let status = response.status();
            (status, refresh_cookie(&response))
        })
    });
    let mut statuses = Vec::new();
    let mut children = HashSet::new();
    for request in requests {
        let (status, child) = request.await.unwrap();
        statuses.push(status);
        children.extend(child);
    }

    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(children.len(), 1, "one resulting token: {children:?}");
    let (rotations, live): (i64, Vec<u8>) =
        sqlx::query_as("SELECT refresh_count, token_hash FROM sessions")
            .fetch_one(a.db())
            .await
            .unwrap();
    assert_eq!(rotations, 1, "the parent, rotated once");
    let child = children.into_iter().next().unwrap();
    assert_eq!(live, token_hash(&child), "into its child");
    assert_eq!(b.refresh(&child).await.status(), StatusCode::OK);
}
