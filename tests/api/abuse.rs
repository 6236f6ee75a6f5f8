//! One client cannot exhaust the server, lock a user out, or grow the database: floods of
//! logins, lockout attempts from one address, spraying, garbage cookies, slow clients.
//! Loopback only, with bounded loops; other source addresses are other 127.x.y.z.

use crate::helpers::*;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Rows in every table (users, sessions, mfa_challenges, session_revocations, auth_events,
/// login_failures), to show that nothing was written.
async fn row_counts(app: &TestApp) -> [i64; 6] {
    let counts: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM sessions),
                (SELECT COUNT(*) FROM mfa_challenges), (SELECT COUNT(*) FROM session_revocations),
                (SELECT COUNT(*) FROM auth_events), (SELECT COUNT(*) FROM login_failures)",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    [counts.0, counts.1, counts.2, counts.3, counts.4, counts.5]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_300_logins_is_bounded_and_a_real_user_still_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(dir.path(), "flood.db").await;
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", database.url.clone()),
        ("DATA_DIR", dir.path().display().to_string()),
        ("JWT_SECRET", TEST_SECRET.to_owned()),
        ("LEPTOS_ENV", "DEV".to_owned()),
        ("PUBLIC_ORIGIN", "http://127.0.0.1:3000".to_owned()),
        ("PASSWORD_HASH_CONCURRENCY", "2".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let server = ServerProcess::start(&vars);
    let base = format!("http://{}", server.addr);

    // 300 logins at once, each from its own address (so no per-address limit stops them before
    // the hashing bound does) and for its own unknown username.
    let flood: Vec<_> = (0..300)
        .map(|i| {
            let ip = format!("127.1.{}.{}", i / 200, i % 200 + 1);
            let base = base.clone();
            tokio::spawn(async move {
                let response = client_from(&ip)
                    .post(format!("{base}/api/login"))
                    .json(&json!({"username": format!("nobody-{i}"), "password": "guess"}))
                    .send()
                    .await
                    .expect("every flood request gets an answer");
                let status = response.status();
                let body: Value = response.json().await.expect("a JSON answer");
                (
                    status,
                    body["error"].as_str().unwrap_or_default().to_owned(),
                )
            })
        })
        .collect();

    // Meanwhile the real user logs in, as a client should: on 503, wait Retry-After, retry once.
    let started = Instant::now();
    let mut response = login_from(&base, "127.0.0.2", USER.name, USER.password).await;
    let mut retried = false;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        let wait: u64 = response.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(wait)).await;
        response = login_from(&base, "127.0.0.2", USER.name, USER.password).await;
        retried = true;
    }
    let took = started.elapsed();

    assert_eq!(response.status(), StatusCode::OK, "retried: {retried}");
    assert!(
        took < Duration::from_secs(3),
        "the real login took {took:?}"
    );
    let mut tally: HashMap<(StatusCode, String), usize> = HashMap::new();
    for task in flood {
        *tally.entry(task.await.unwrap()).or_default() += 1;
    }
    for (status, code) in tally.keys() {
        let expected = match *status {
            StatusCode::UNAUTHORIZED => "invalid_credentials",
            StatusCode::TOO_MANY_REQUESTS => "too_many_attempts",
            StatusCode::SERVICE_UNAVAILABLE => "server_busy",
            other => panic!("unexpected {other}: {tally:?}"),
        };
        assert_eq!(code, expected, "{tally:?}");
    }
    let peak_mib = server.peak_rss_kib() / 1024;
    println!("flood answers: {tally:?}; real login {took:?} (retried: {retried}); peak RSS {peak_mib} MiB");
    assert!(
        peak_mib < 64 + 2 * 20,
        "peak RSS {peak_mib} MiB with 2 hashing slots"
    );
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_user_out_elsewhere_below_the_ceiling() {
    let app = spawn_app_with(&[
        ("LOGIN_MAX_FAILURES", "3"),
        ("LOGIN_USER_MAX_FAILURES_PER_HOUR", "8"),
    ])
    .await;
    let base = app.url("");
    for _ in 0..3 {
        let response = login_from(&base, "127.0.0.2", USER.name, "wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked_here = login_from(&base, "127.0.0.2", USER.name, USER.password).await;
    assert_eq!(locked_here.status(), StatusCode::TOO_MANY_REQUESTS);

    let elsewhere = login_from(&base, "127.0.0.3", USER.name, USER.password).await;
    assert_eq!(
        elsewhere.status(),
        StatusCode::OK,
        "another address is not locked out"
    );

    // Guessing spread over addresses still meets the per-username ceiling (8 failures).
    for ip in ["127.0.0.4", "127.0.0.5"] {
        for _ in 0..3 {
            login_from(&base, ip, USER.name, "wrong").await;
        }
    }
    let ceiling = login_from(&base, "127.0.0.6", USER.name, USER.password).await;
    assert_eq!(ceiling.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(ceiling.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn one_address_spraying_many_usernames_is_stopped_before_the_fiftieth() {
    let app = spawn_app().await;
    let base = app.url("");

    let mut first_refusal = None;
    for i in 0..50 {
        let response = login_from(&base, "127.0.0.9", &format!("victim-{i}"), "Summer2026!").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key(header::RETRY_AFTER));
            first_refusal = Some(i);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    let first_refusal = first_refusal.expect("refused before the 50th username");
    assert!(first_refusal < 49, "{first_refusal}");
    // Another address is not affected.
    let other = login_from(&base, "127.0.0.10", USER.name, USER.password).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn ten_concurrent_correct_logins_of_one_user_from_ten_addresses_all_succeed() {
    let app = spawn_app().await;
    let base = app.url("");

    let logins = (0..10).map(|i| {
        let base = base.clone();
        async move {
            login_from(
                &base,
                &format!("127.0.1.{}", i + 1),
                USER.name,
                USER.password,
            )
            .await
            .status()
        }
    });
    let statuses = futures::future::join_all(logins).await;

    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_throttled_window_writes_one_audit_event_not_one_per_attempt() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    for _ in 0..2 {
        app.login(USER.name, "wrong").await;
    }
    let before = row_counts(&app).await;

    for _ in 0..10 {
        assert_eq!(
            app.login_as(USER).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    let throttled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'login_throttled'")
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!(throttled, 1);
    let mut after = row_counts(&app).await;
    after[4] -= 1; // the one event
    assert_eq!(after, before, "nothing else was written");
}

#[tokio::test]
async fn a_thousand_refreshes_and_logouts_with_unknown_cookies_write_nothing() {
    let app = spawn_app().await;
    let (_, live) = app.login_user().await;
    let rows = row_counts(&app).await;
    let bytes = app.database_bytes().await;

    for i in 0..1000 {
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let cookie =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, random);
        let response = if i % 2 == 0 {
            app.refresh(&cookie).await
        } else {
            app.logout(&cookie).await
        };
        assert!(response.status().is_client_error() || response.status() == StatusCode::NO_CONTENT);
    }

    assert_eq!(row_counts(&app).await, rows, "no row written");
    assert_eq!(
        app.database_bytes().await,
        bytes,
        "the database did not grow"
    );
    assert_eq!(app.refresh(&live).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn usernames_that_break_the_rules_are_422_before_any_log_or_row() {
    let app = spawn_app().await;
    let rows = row_counts(&app).await;

    for name in [
        "user\nadmin",
        "a\u{0}b",
        "tab\tname",
        "two words",
        &"x".repeat(65),
    ] {
        let response = app.login(name, "whatever").await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
        assert_eq!(error_code(response).await, "invalid_request");
    }
    let long_password = app.login(USER.name, &"p".repeat(1025)).await;
    assert_eq!(long_password.status(), StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(row_counts(&app).await, rows);
}

#[tokio::test]
async fn retention_deletes_what_is_past_its_time_and_keeps_live_sessions() {
    let app = spawn_app().await;
    let (_, live) = app.login_user().await;
    let (_, logged_out) = app.login_user().await;
    app.logout(&logged_out).await;
    let (_, expired) = app.login_user().await;
    app.login(USER.name, "wrong").await;
    let day = 86_400;
    let db = app.db();
    let (live_id, revoked_id, expired_id) = (
        session_of(&live),
        session_of(&logged_out),
        session_of(&expired),
    );
    // Move the clock: a revocation and an expiry 8 days ago, old audit events, an old failure
    // window. (Retention keeps ended sessions 7 days and events 90.)
    for (sql, seconds_ago) in [
        (
            "UPDATE sessions SET revoked_at = revoked_at - $1 WHERE revoked_at IS NOT NULL",
            8 * day,
        ),
        (
            "UPDATE session_revocations SET revoked_at = revoked_at - $1",
            8 * day,
        ),
        (
            "UPDATE auth_events SET at = at - $1 WHERE kind = 'login_failure'",
            91 * day,
        ),
        (
            "UPDATE login_failures SET window_start = window_start - $1",
            2 * 3600,
        ),
    ] {
        sqlx::query(sql)
            .bind(seconds_ago)
            .execute(db)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2")
        .bind(jwt_auth::auth::unix_now() - 8 * day)
        .bind(&expired_id)
        .execute(db)
        .await
        .unwrap();

    let pruned = app
        .state
        .auth
        .retention_pass(jwt_auth::auth::unix_now())
        .await
        .unwrap();

    let sessions: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(
        sessions,
        vec![live_id.clone()],
        "only the live session is left"
    );
    assert!(!sessions.contains(&revoked_id) && !sessions.contains(&expired_id));
    let old_events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'login_failure'")
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(old_events, 0);
    let recent_events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_events")
        .fetch_one(db)
        .await
        .unwrap();
    assert!(recent_events > 0, "recent events stay");
    let counters: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(counters, 0);
    assert_eq!((pruned.sessions, pruned.revocations), (2, 1), "{pruned:?}");
    assert_eq!(app.refresh(&live).await.status(), StatusCode::OK);
}

/// Opens a connection and sends `bytes` one per `every`, until the server closes it. Returns
/// how many it sent and how long the connection lasted.
async fn trickle(addr: std::net::SocketAddr, bytes: &[u8], every: Duration) -> (usize, Duration) {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ticks = tokio::time::interval(every);
    let mut buf = [0u8; 1024];
    for (sent, byte) in bytes.iter().enumerate() {
        tokio::select! {
            _ = ticks.tick() => {
                if stream.write_all(&[*byte]).await.is_err() {
                    return (sent, started.elapsed());
                }
            }
            read = stream.read(&mut buf) => {
                // Closed (0) or reset: the server hung up, maybe after a 408 it wrote first.
                if matches!(read, Ok(0) | Err(_)) {
                    return (sent, started.elapsed());
                }
            }
        }
    }
    (bytes.len(), started.elapsed())
}

const SLOW_REQUEST: &[u8] = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: slowly\r\n\r\n";

#[tokio::test]
async fn a_client_sending_headers_a_byte_a_second_is_disconnected_after_the_header_timeout() {
    let app = spawn_app_with(&[("HEADER_READ_TIMEOUT_SECS", "2")]).await;

    let (sent, lasted) = trickle(app.addr, SLOW_REQUEST, Duration::from_secs(1)).await;

    assert!(
        sent < SLOW_REQUEST.len(),
        "cut off before the headers were complete"
    );
    assert!(
        lasted >= Duration::from_secs(2) && lasted < Duration::from_secs(5),
        "{lasted:?}"
    );
    // Normal clients are unaffected.
    assert_eq!(app.get_page("/login", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_with_a_slow_client_connected_finishes_within_the_grace_period() {
    let app = spawn_app_with(&[
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("SHUTDOWN_GRACE_SECS", "1"),
    ])
    .await;
    let addr = app.addr;
    let slow = tokio::spawn(trickle(addr, SLOW_REQUEST, Duration::from_secs(1)));
    // Wait until the slow client is connected and has started its request.
    assert_eq!(app.get_page("/login", None).await.status(), StatusCode::OK);

    let took = app.stop_timed().await;

    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let (sent, _) = slow.await.unwrap();
    assert!(sent < SLOW_REQUEST.len());
}

/// Starts a POST whose body never finishes arriving; the connection stays open.
async fn hold_a_request_open(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_a_json_408() {
    let app = spawn_app_with(&[("REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut stream = hold_a_request_open(app.addr).await;

    // Read until the JSON body has arrived (the connection may stay open).
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !answer.ends_with(b"}") {
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .expect("answered within 5 s")
            .unwrap();
        assert!(read > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..read]);
    }

    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""error":"request_timeout""#), "{answer}");
}

#[tokio::test]
async fn past_the_in_flight_cap_requests_get_503_with_retry_after() {
    let app = spawn_app_with(&[
        ("MAX_IN_FLIGHT_REQUESTS", "1"),
        ("REQUEST_TIMEOUT_SECS", "30"),
    ])
    .await;
    let _held = hold_a_request_open(app.addr).await;
    // The held request is in flight once the server has started reading its body; poll
    // until the cap shows.
    let deadline = Instant::now() + Duration::from_secs(5);
    let response = loop {
        let response = app.get_secret(None).await;
        if response.status() != StatusCode::UNAUTHORIZED || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_eq!(error_code(response).await, "server_busy");
}
