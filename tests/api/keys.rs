//! Signing keys by `kid`: tokens name their key, only configured keys verify, and a rolling
//! rotation across instances logs nobody out.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};
use tokio::sync::{watch, RwLock};

fn kid_of(jwt: &str) -> String {
    let header = jsonwebtoken::decode_header(jwt).expect("header");
    header.kid.expect("kid")
}

/// A token of the server's shape, signed with `secret` and naming `kid`.
fn forge(app: &TestApp, kid: Option<&str>, secret: &str) -> String {
    let now = jwt_auth::auth::unix_now();
    let claims = json!({"iss": app.issuer(), "sub": "1", "aud": app.audience(),
                        "sid": "some-session", "username": "user", "role": "user",
                        "iat": now, "exp": now + 600, "jti": "00"});
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn assert_invalid(app: &TestApp, jwt: &str, what: &str) {
    let response = app.get_secret(Some(jwt)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(error_code(response).await, "invalid_token", "{what}");
}

#[tokio::test]
async fn tokens_name_the_active_key_and_only_configured_kids_verify() {
    let app = spawn_app_with(&[
        ("JWT_SECRET", ""),
        ("JWT_KEYS", &jwt_keys(Some("retired"), Some("active"))),
    ])
    .await;
    let (jwt, _) = app.login_user().await;
    assert_eq!(kid_of(&jwt), "new");
    // The baseline: a token of the right shape under the active key verifies.
    let genuine = forge(&app, Some("new"), NEW_KEY_SECRET);
    assert_eq!(
        app.get_secret(Some(&genuine)).await.status(),
        StatusCode::OK
    );

    let retired = forge(&app, Some("old"), OLD_KEY_SECRET);
    assert_invalid(&app, &retired, "kid of a retired key").await;
    assert_invalid(&app, &forge(&app, None, NEW_KEY_SECRET), "no kid").await;
    for kid in ["NEW", "new ", "old", "", "default"] {
        let tampered = forge(&app, Some(kid), NEW_KEY_SECRET);
        assert_invalid(&app, &tampered, &format!("kid {kid:?}")).await;
    }
    for hostile in [
        "../../../../etc/passwd",
        "/dev/null",
        "new' OR '1'='1",
        "new\"; DROP TABLE users; --",
        "new\u{0}",
        "%6e%65%77",
    ] {
        let token = forge(&app, Some(hostile), NEW_KEY_SECRET);
        assert_invalid(&app, &token, &format!("kid {hostile:?}")).await;
    }
    // The kid of a genuine token swapped for another: the signature no longer matches.
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
    header["kid"] = json!("old");
    parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
    assert_invalid(&app, &parts.join("."), "swapped kid").await;
    // Nothing of that reached the database.
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(users, 2);
}

/// What the client saw.
#[derive(Debug, Default)]
struct Seen {
    ok: u32,
    unauthorized: u32,
    other: Vec<String>,
}

/// A client that calls `GET /api/secret-number` every 100 ms on the instances in `up` in turn,
/// and refreshes (on the instance it is at) every fifth call, as the browser's fetch wrapper
/// would before its token expires. Publishes the `kid` of its access token in `kid`, and how
/// many calls it has made in `calls`.
async fn client_loop(
    up: Arc<RwLock<Vec<String>>>,
    mut jwt: String,
    mut cookie: String,
    kid: watch::Sender<String>,
    calls: watch::Sender<usize>,
    stop: Arc<AtomicBool>,
) -> Seen {
    let client = reqwest::Client::builder()
        // A fresh connection per request: no keep-alive connection to a restarted instance.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut seen = Seen::default();
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut call = 0usize;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        // Holding the read lock keeps an instance up until this call is answered.
        let instances = up.read().await;
        let Some(base) = instances.get(call % instances.len().max(1)) else {
            continue;
        };
        call += 1;
        calls.send_replace(call);
        if call.is_multiple_of(5) {
            let response = client
                .post(format!("{base}/api/refresh"))
                .header(reqwest::header::COOKIE, format!("{COOKIE}={cookie}"))
                .json(&json!({}))
                .send()
                .await;
            match response {
                Ok(r) if r.status() == StatusCode::OK => {
                    cookie = refresh_cookie(&r).expect("rotated cookie");
                    let body: Value = r.json().await.unwrap();
                    jwt = body["jwt"].as_str().unwrap().to_owned();
                    kid.send_replace(kid_of(&jwt));
                }
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED => seen.unauthorized += 1,
                other => seen.other.push(format!("refresh: {other:?}")),
            }
            continue;
        }
        match client
            .get(format!("{base}/api/secret-number"))
            .bearer_auth(&jwt)
            .send()
            .await
        {
            Ok(r) if r.status() == StatusCode::OK => seen.ok += 1,
            Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                seen.unauthorized += 1;
                seen.other
                    .push(format!("401 from {base} for kid {}", kid_of(&jwt)));
            }
            other => seen.other.push(format!("secret: {other:?}")),
        }
    }
    seen
}

/// Restarts each instance in turn with `JWT_KEYS=keys`, taking it out of `up` meanwhile, and
/// lets the client make a few calls after each restart.
async fn roll(
    instances: &mut [Option<TestApp>],
    up: &RwLock<Vec<String>>,
    calls: &mut watch::Receiver<usize>,
    keys: &str,
) {
    for slot in instances.iter_mut() {
        let app = slot.take().expect("instance");
        let base = format!("http://{}", app.addr);
        up.write().await.retain(|u| *u != base);
        let app = app.restart_with(&[("JWT_KEYS", keys)]).await;
        up.write().await.push(base);
        *slot = Some(app);
        let before = *calls.borrow_and_update();
        calls.wait_for(|n| *n >= before + 4).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_key_rotation_across_two_instances_logs_nobody_out() {
    let a = spawn_app_with(&[
        ("JWT_SECRET", ""),
        ("JWT_KEYS", &jwt_keys(Some("active"), None)),
    ])
    .await;
    let b = a.second_instance(&[]).await;
    let (jwt, cookie) = a.login_user().await;
    assert_eq!(kid_of(&jwt), "old");
    let up = Arc::new(RwLock::new(vec![
        format!("http://{}", a.addr),
        format!("http://{}", b.addr),
    ]));
    let (kid_tx, mut kid_rx) = watch::channel(kid_of(&jwt));
    let (calls_tx, mut calls) = watch::channel(0);
    let stop = Arc::new(AtomicBool::new(false));
    let client = tokio::spawn(client_loop(
        up.clone(),
        jwt.clone(),
        cookie,
        kid_tx,
        calls_tx,
        stop.clone(),
    ));
    let mut instances = [Some(a), Some(b)];

    // 1. The new key is introduced as verify-only everywhere.
    let introduce = jwt_keys(Some("active"), Some("verify"));
    roll(&mut instances, &up, &mut calls, &introduce).await;
    // 2. It becomes the signing key; the old one still verifies.
    let switch = jwt_keys(Some("verify"), Some("active"));
    roll(&mut instances, &up, &mut calls, &switch).await;
    // 3. Once no unexpired token of the old key is left (here: the client's own token has been
    //    replaced by one of the new key; in production, after one access-token lifetime), the
    //    old key is dropped.
    kid_rx.wait_for(|kid| kid == "new").await.unwrap();
    let drop_old = jwt_keys(None, Some("active"));
    roll(&mut instances, &up, &mut calls, &drop_old).await;
    stop.store(true, Ordering::Relaxed);
    let seen = client.await.unwrap();

    assert_eq!(seen.unauthorized, 0, "{seen:?}");
    assert!(seen.other.is_empty(), "{seen:?}");
    assert!(seen.ok >= 18, "the client kept calling: {seen:?}");
    // The first access token, signed by the dropped key, is refused now.
    let a = instances[0].take().unwrap();
    assert_invalid(&a, &jwt, "token of the dropped key").await;
}
