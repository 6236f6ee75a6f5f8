//! What one client can hold of the server's connections: `MAX_CONNECTIONS_PER_IP` at once, and
//! none that stopped reading its response for `IDLE_TIMEOUT_SECS`.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection from `ip` (any 127.x.y.z).
async fn connect_from(ip: &str, app: &TestApp) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{ip}:0").parse().unwrap())?;
    socket.connect(app.addr).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holding_many_connections_cannot_keep_another_out() {
    let app = spawn_app_with(&[
        ("MAX_CONNECTIONS", "150"),
        ("HEADER_READ_TIMEOUT_SECS", "60"),
    ])
    .await;
    // 200 connections from one address that each send a request and never read the answer
    // (then sit in keep-alive, holding their slot).
    let mut held = Vec::new();
    for _ in 0..200 {
        let Ok(mut stream) = connect_from("127.0.7.1", &app).await else {
            continue;
        };
        let _ = stream
            .write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await;
        held.push(stream);
    }

    let started = Instant::now();
    let other = tokio::time::timeout(
        Duration::from_secs(2),
        client_from("127.0.7.2").get(app.url("/login")).send(),
    )
    .await;

    let other = other.expect("answered within 2 s").unwrap();
    assert_eq!(
        other.status(),
        reqwest::StatusCode::OK,
        "{:?}",
        started.elapsed()
    );
    drop(held);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_after_the_idle_timeout() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    // Far more than the socket buffers between us hold.
    let size = 64 * 1024 * 1024;
    std::fs::write(site.path().join("pkg/big.bin"), vec![7u8; size]).unwrap();
    let root = site.path().display().to_string();
    let app = spawn_app_with(&[("IDLE_TIMEOUT_SECS", "1"), ("LEPTOS_SITE_ROOT", &root)]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /pkg/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();

    // Not reading, for longer than the timeout (what is measured here is that timeout).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut received = 0;
    let mut buf = vec![0u8; 1 << 16];
    let read_all = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received += n,
            }
        }
    })
    .await;

    assert!(read_all.is_ok(), "the server closed the connection");
    assert!(
        received < size,
        "gave up before sending all of it: {received} of {size}"
    );
}
