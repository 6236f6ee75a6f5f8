//! Load generator for jwt-auth's benchmarks: prints figures, asserts nothing.
//!
//! ```text
//! jwt-auth-loadgen login-flood URL [--waves N] [--per-wave N] [--server-pid PID]
//! ```
//! `login-flood`: the p50/p99 latency of `GET /api/secret-number` for a logged-in client, idle
//! and while waves of parallel bad logins (each from its own 127.x.y.z address) run, and the
//! server's peak RSS.

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
    assert!(response.status().is_success(), "login: {}", response.status());
    let body: Value = response.json().await.expect("login body");
    body["jwt"].as_str().expect("jwt").to_owned()
}

/// Sequential `GET /api/secret-number` until `until` (or `count` requests); the latencies.
async fn probe(client: &reqwest::Client, url: &str, jwt: &str, count: usize, until: Option<Instant>) -> Vec<Duration> {
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
                let url = flood_url.clone();
                async move {
                    let client = reqwest::Client::builder().local_address(ip).build().expect("client");
                    client
                        .post(format!("{url}/api/login"))
                        .json(&json!({"username": format!("bench-{wave}-{i}"), "password": "wrong"}))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                }
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

    println!("login flood: {waves} waves × {per_wave} parallel bad logins, each from its own address");
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

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("login-flood") => login_flood(&args).await,
        _ => eprintln!("usage: jwt-auth-loadgen login-flood URL [--waves N] [--per-wave N] [--server-pid PID]"),
    }
}
