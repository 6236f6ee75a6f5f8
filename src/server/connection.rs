//! What one client may hold of the server's connections: at most `MAX_CONNECTIONS_PER_IP` open
//! at once (so one address cannot take every slot of `MAX_CONNECTIONS`), and none that stops
//! making progress writing its response for `IDLE_TIMEOUT_SECS` (a client that requests the
//! WASM and never reads it would otherwise keep its slot for ever).

use crate::server::net::IpNet;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Open connections per client address.
#[derive(Debug)]
pub struct PerAddress {
    limit: usize,
    /// Proxies: every client behind them shares their address, so they are not counted.
    exempt: Vec<IpNet>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; uncounted when dropped.
#[derive(Debug)]
pub struct Held {
    counts: Arc<PerAddress>,
    ip: Option<IpAddr>,
}

impl PerAddress {
    pub fn new(limit: usize, exempt: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            limit,
            exempt,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `ip`; `None` when that address already holds its limit
    /// (the caller closes the connection).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Held> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        if self.exempt.iter().any(|net| net.contains(ip)) {
            return Some(Held {
                counts: self.clone(),
                ip: None,
            });
        }
        let mut open = self.open.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Held {
            counts: self.clone(),
            ip: Some(ip),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let (Some(ip), Ok(mut open)) = (self.ip, self.counts.open.lock()) else {
            return;
        };
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// A stream whose writes fail with `TimedOut` once one has been stuck for `timeout`: the
/// peer stopped reading, and the connection (and its slot) is given up.
pub struct WriteProgress<S> {
    inner: S,
    timeout: Duration,
    stuck: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteProgress<S> {
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            stuck: None,
        }
    }

    /// After a write attempt: progress resets the clock; being stuck runs it, and past the
    /// timeout turns into an error.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stuck = None;
            return poll;
        }
        let timeout = self.timeout;
        let stuck = self
            .stuck
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stuck.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteProgress<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteProgress<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_limit_and_proxies_are_not_counted() {
        let counts = PerAddress::new(2, vec![IpNet::parse("10.0.0.1").unwrap()]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = counts.admit(ip).unwrap();
        let _b = counts.admit("::ffff:192.0.2.1".parse().unwrap()).unwrap();
        assert!(counts.admit(ip).is_none(), "a third from the same address");
        assert!(counts.admit("192.0.2.2".parse().unwrap()).is_some());
        drop(a);
        assert!(
            counts.admit(ip).is_some(),
            "a slot freed by a closed connection"
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..10).filter_map(|_| counts.admit(proxy)).collect();
        assert_eq!(held.len(), 10);
    }

    #[tokio::test]
    async fn a_write_stuck_past_the_timeout_fails() {
        use tokio::io::AsyncWriteExt;
        // A pipe nobody reads: its buffer fills, then writes stall.
        let (client, _server) = tokio::io::duplex(64);
        let mut stream = WriteProgress::new(client, Duration::from_millis(100));
        let started = std::time::Instant::now();
        let result = stream.write_all(&[0u8; 4096]).await;
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_reader_that_keeps_reading_is_never_cut_off() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(64);
        // Generous against a slow machine: the reader below never pauses for long.
        let mut stream = WriteProgress::new(client, Duration::from_secs(5));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let mut total = 0;
            while total < 4096 {
                total += server.read(&mut buf).await.unwrap();
            }
        });
        stream.write_all(&[0u8; 4096]).await.unwrap();
        reader.await.unwrap();
    }
}
