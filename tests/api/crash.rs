//! What the server answered as committed survives `kill -9`.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// One client's view of its own session: the newest token the server answered 200 with.
struct Chain {
    last_answered: String,
    answered: usize,
}

/// Follows one session's refresh chain until the server stops answering.
async fn follow(
    client: reqwest::Client,
    url: String,
    mut chain: Chain,
    total: Arc<AtomicUsize>,
) -> Chain {
    loop {
        let response = client
            .post(&url)
            .header("Cookie", format!("{COOKIE}={}", chain.last_answered))
            .json(&json!({}))
            .send()
            .await;
        let Ok(response) = response else { return chain };
        assert_eq!(response.status(), StatusCode::OK, "a live chain refreshes");
        chain.last_answered = refresh_cookie(&response).expect("rotated cookie");
        chain.answered += 1;
        total.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refresh_answered_200_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(dir.path(), "crash.db").await;
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", database.url.clone()),
        ("DATA_DIR", dir.path().display().to_string()),
        ("JWT_SECRET", TEST_SECRET.to_owned()),
        ("LEPTOS_ENV", "DEV".to_owned()),
        ("PUBLIC_ORIGIN", "http://127.0.0.1:3000".to_owned()),
        // Long enough that a token rotated by a request cut off by the kill is still within
        // the grace window after the restart (it must then yield the same child).
        ("REFRESH_REUSE_GRACE_SECS", "60".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let server = ServerProcess::start(&vars);
    let client = reqwest::Client::new();
    let mut chains = Vec::new();
    for _ in 0..8 {
        let response = client
            .post(server.url("/api/login"))
            .json(&json!({"username": USER.name, "password": USER.password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let token = refresh_cookie(&response).unwrap();
        chains.push(Chain {
            last_answered: token,
            answered: 0,
        });
    }

    // Eight clients refresh as fast as they can; the server is killed in the middle of it.
    let total = Arc::new(AtomicUsize::new(0));
    let url = server.url("/api/refresh");
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|chain| tokio::spawn(follow(client.clone(), url.clone(), chain, total.clone())))
        .collect();
    while total.load(Ordering::Relaxed) < 400 {
        tokio::task::yield_now().await;
    }
    server.kill();
    let mut chains = Vec::new();
    for task in tasks {
        chains.push(task.await.unwrap());
    }

    let server = ServerProcess::start(&vars);
    let db = connect_any(&vars["DATABASE_URL"]).await;
    for chain in &chains {
        assert!(chain.answered > 0);
        // What was answered was committed first: it is its session's live token, or its parent
        // (the request the kill cut off rotated it).
        let stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = $1 OR parent_hash = $1",
        )
        .bind(token_hash(&chain.last_answered))
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(stored, 1, "an answered token is in the database");
        // …and still continues the session: either it is live, or the request cut off by the
        // kill rotated it and presenting it again yields that same child.
        let response = client
            .post(server.url("/api/refresh"))
            .header("Cookie", format!("{COOKIE}={}", chain.last_answered))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let answered: usize = chains.iter().map(|c| c.answered).sum();
    assert!(answered >= 400, "{answered}");
}
