//! Load generator for jwt-auth's benchmarks: prints figures, asserts nothing.
//!
//! ```text
//! jwt-auth-loadgen login-flood URL [--waves N] [--per-wave N] [--server-pid PID]
//! jwt-auth-loadgen refresh URL[,URL…] [--sessions N] [--secs S] [--label TEXT]
//! jwt-auth-loadgen bad-logins URL [--rate N] [--secs S]
//! ```
//! `login-flood`: the p50/p99 latency of `GET /api/secret-number` for a logged-in client, idle
//! and while waves of parallel bad logins (each from its own 127.x.y.z address) run, and the
//! server's peak RSS.
//!
//! `refresh`: N sessions refresh in a closed loop for S seconds, each presenting the cookie its
//! previous refresh returned; with several URLs (instances on one database) each session's
//! requests go round-robin over them. Prints refreshes per second and the latency percentiles.
//!
//! `bad-logins`: the p50/p99 latency of `GET /api/secret-number` for one logged-in client in a
//! closed loop, for S seconds idle and then for S seconds while N failing logins per second
//! (unknown usernames, each from its own 127.x.y.z address, so neither throttle answers them
//! before the password hash runs) arrive at a steady pace.

use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The server's peak resident memory in MiB, from /proc.
fn peak_rss_mib(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

async fn login(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .post(format!("{url}/api/login"))
        .json(&json!({"username": "user", "password": "user-secret-42"}))
        .send()
        .await
        .expect("login");
    assert!(
        response.status().is_success(),
        "login: {}",
        response.status()
    );
    let body: Value = response.json().await.expect("login body");
    body["jwt"].as_str().expect("jwt").to_owned()
}

/// Sequential `GET /api/secret-number` until `until` (or `count` requests); the latencies.
async fn probe(
    client: &reqwest::Client,
    url: &str,
    jwt: &str,
    count: usize,
    until: Option<Instant>,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    loop {
        if latencies.len() >= count || until.is_some_and(|u| Instant::now() >= u) {
            break;
        }
        let started = Instant::now();
        let response = client
            .get(format!("{url}/api/secret-number"))
            .bearer_auth(jwt)
            .send()
            .await
            .expect("secret-number");
        let status = response.status();
        let _ = response.bytes().await;
        assert!(status.is_success(), "secret-number: {status}");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

/// A login with a wrong password from address `from`; the answer's status (0: no answer).
async fn bad_login(url: String, from: IpAddr, username: String) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client");
    client
        .post(format!("{url}/api/login"))
        .json(&json!({"username": username, "password": "wrong-password"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn login_flood(args: &[String]) {
    let url = args.get(2).cloned().expect("URL");
    let waves: usize = arg(args, "--waves").map_or(5, |v| v.parse().expect("--waves"));
    let per_wave: usize = arg(args, "--per-wave").map_or(300, |v| v.parse().expect("--per-wave"));
    let pid = arg(args, "--server-pid");
    let client = reqwest::Client::new();
    let jwt = login(&client, &url).await;

    let idle = probe(&client, &url, &jwt, 2000, None).await;

    let flood_url = url.clone();
    let flood = tokio::spawn(async move {
        let mut tally = std::collections::BTreeMap::<u16, usize>::new();
        for wave in 0..waves {
            let requests = (0..per_wave).map(|i| {
                let ip: IpAddr = format!("127.{}.{}.{}", 10 + wave, i / 250, i % 250 + 1)
                    .parse()
                    .expect("address");
                bad_login(flood_url.clone(), ip, format!("bench-{wave}-{i}"))
            });
            for status in futures::future::join_all(requests).await {
                *tally.entry(status).or_default() += 1;
            }
        }
        tally
    });
    let flooded = {
        let mut all = Vec::new();
        while !flood.is_finished() {
            let until = Instant::now() + Duration::from_millis(200);
            all.extend(probe(&client, &url, &jwt, usize::MAX, Some(until)).await);
        }
        all.sort();
        all
    };
    let tally = flood.await.expect("flood");

    println!(
        "login flood: {waves} waves × {per_wave} parallel bad logins, each from its own address"
    );
    println!("  flood answers by status: {tally:?}");
    println!(
        "  GET /api/secret-number idle:       n={:5}  p50 {:7.2} ms  p99 {:7.2} ms",
        idle.len(),
        ms(percentile(&idle, 0.50)),
        ms(percentile(&idle, 0.99))
    );
    println!(
        "  GET /api/secret-number under flood: n={:5}  p50 {:7.2} ms  p99 {:7.2} ms  ({:.2}× idle p99)",
        flooded.len(),
        ms(percentile(&flooded, 0.50)),
        ms(percentile(&flooded, 0.99)),
        ms(percentile(&flooded, 0.99)) / ms(percentile(&idle, 0.99)).max(0.001)
    );
    if let Some(rss) = pid.as_deref().and_then(peak_rss_mib) {
        println!("  server peak RSS (VmHWM): {rss:.1} MiB");
    }
}

/// The refresh cookie a response sets.
fn refresh_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-jwt_auth_refresh="))
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

async fn refresh(args: &[String]) {
    let urls: Vec<String> = args
        .get(2)
        .expect("URL")
        .split(',')
        .map(str::to_owned)
        .collect();
    let sessions: usize = arg(args, "--sessions").map_or(32, |v| v.parse().expect("--sessions"));
    let secs: u64 = arg(args, "--secs").map_or(10, |v| v.parse().expect("--secs"));
    let label = arg(args, "--label").unwrap_or_else(|| urls.join(","));
    let client = reqwest::Client::new();
    let mut cookies = Vec::new();
    for i in 0..sessions {
        let url = &urls[i % urls.len()];
        let response = client
            .post(format!("{url}/api/login"))
            .json(&json!({"username": "user", "password": "user-secret-42"}))
            .send()
            .await
            .expect("login");
        assert!(
            response.status().is_success(),
            "login: {}",
            response.status()
        );
        cookies.push(refresh_cookie(&response).expect("refresh cookie"));
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let workers = cookies.into_iter().enumerate().map(|(i, mut cookie)| {
        let client = client.clone();
        let urls = urls.clone();
        tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            let mut n = i;
            while Instant::now() < until {
                let url = &urls[n % urls.len()];
                n += 1;
                let sent = Instant::now();
                let response = client
                    .post(format!("{url}/api/refresh"))
                    .header(
                        reqwest::header::COOKIE,
                        format!("__Host-jwt_auth_refresh={cookie}"),
                    )
                    .json(&json!({}))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        cookie = refresh_cookie(&r).expect("rotated cookie");
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        })
    });
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in futures::future::join_all(workers).await {
        let (latencies, failed) = worker.expect("worker");
        all.extend(latencies);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "  {label:<28} {:>7.0} refreshes/s  p50 {:6.2} ms  p99 {:6.2} ms  (n={}, errors {errors}, {sessions} sessions)",
        all.len() as f64 / elapsed,
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        all.len()
    );
}

async fn bad_logins(args: &[String]) {
    let url = args.get(2).cloned().expect("URL");
    let rate: u32 = arg(args, "--rate").map_or(20, |v| v.parse().expect("--rate"));
    let secs: u64 = arg(args, "--secs").map_or(10, |v| v.parse().expect("--secs"));
    let client = reqwest::Client::new();
    let jwt = login(&client, &url).await;
    let window = Duration::from_secs(secs);
    let idle = probe(
        &client,
        &url,
        &jwt,
        usize::MAX,
        Some(Instant::now() + window),
    )
    .await;

    let until = Instant::now() + window;
    let flood_url = url.clone();
    let flood = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
        let mut sent = Vec::new();
        let mut i: u32 = 0;
        while Instant::now() < until {
            ticks.tick().await;
            let ip: IpAddr = format!("127.30.{}.{}", i / 250, i % 250 + 1)
                .parse()
                .expect("address");
            sent.push(tokio::spawn(bad_login(
                flood_url.clone(),
                ip,
                format!("nobody-{i}"),
            )));
            i += 1;
        }
        let mut tally = std::collections::BTreeMap::<u16, usize>::new();
        for status in futures::future::join_all(sent).await {
            *tally.entry(status.unwrap_or(0)).or_default() += 1;
        }
        tally
    });
    let loaded = probe(&client, &url, &jwt, usize::MAX, Some(until)).await;
    let tally = flood.await.expect("bad logins");
    let (idle_p99, loaded_p99) = (ms(percentile(&idle, 0.99)), ms(percentile(&loaded, 0.99)));
    println!("  failing logins: {rate}/s for {secs} s, answers by status {tally:?}");
    println!(
        "  GET /api/secret-number idle:            n={:6}  p50 {:6.3} ms  p99 {:6.3} ms",
        idle.len(),
        ms(percentile(&idle, 0.50)),
        idle_p99
    );
    println!(
        "  GET /api/secret-number failing logins:  n={:6}  p50 {:6.3} ms  p99 {:6.3} ms  ({:.2}× idle p99)",
        loaded.len(),
        ms(percentile(&loaded, 0.50)),
        loaded_p99,
        loaded_p99 / idle_p99.max(0.001)
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("login-flood") => login_flood(&args).await,
        Some("refresh") => refresh(&args).await,
        Some("bad-logins") => bad_logins(&args).await,
        _ => eprintln!(
            "usage: jwt-auth-loadgen login-flood URL [--waves N] [--per-wave N] [--server-pid PID]\n\
             \x20      jwt-auth-loadgen refresh URL[,URL…] [--sessions N] [--secs S] [--label TEXT]\n\
             \x20      jwt-auth-loadgen bad-logins URL [--rate N] [--secs S]"
        ),
    }
}
