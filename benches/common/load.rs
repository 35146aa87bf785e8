//! A lean HTTP/1.1 load generator for webhook deliveries: pre-built
//! requests (signed before the clock starts) over keep-alive loopback
//! connections, on a thread and runtime of its own so it never shares the
//! service's threads. Either as fast as the service answers (closed loop) or
//! paced at a fixed rate (open loop: latency counts from each request's
//! scheduled time, so a slow answer delays no measurement).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Samples;

/// What a run produced.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub ok: usize,
    pub failed: usize,
    pub elapsed: Duration,
    pub latency: Samples,
}

impl LoadResult {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// `POST {path}` with a JSON body, as raw bytes.
pub fn request(path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Sends every request over `conns` connections; `rate` paces them (per
/// second). The caller's thread stays free (the service may run on it).
pub async fn run(
    addr: &str,
    requests: Arc<Vec<Vec<u8>>>,
    conns: usize,
    rate: Option<f64>,
) -> LoadResult {
    let addr = addr.to_owned();
    actix_web::rt::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("load generator runtime");
        rt.block_on(drive(addr, requests, conns, rate))
    })
    .await
    .expect("load generator thread")
}

async fn drive(
    addr: String,
    requests: Arc<Vec<Vec<u8>>>,
    conns: usize,
    rate: Option<f64>,
) -> LoadResult {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (addr, reqs, next) = (addr.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            connection(&addr, &reqs, &next, start, rate).await
        }));
    }
    let mut out = LoadResult::default();
    for t in tasks {
        let part = t.await.expect("connection task");
        out.ok += part.ok;
        out.failed += part.failed;
        for d in part.latency.values() {
            out.latency.push(*d);
        }
    }
    out.elapsed = start.elapsed();
    out
}

/// One keep-alive connection taking requests off the shared counter.
async fn connection(
    addr: &str,
    reqs: &[Vec<u8>],
    next: &AtomicUsize,
    start: Instant,
    rate: Option<f64>,
) -> LoadResult {
    let mut out = LoadResult::default();
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the service");
    stream.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::with_capacity(4096);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(req) = reqs.get(i) else { break };
        // Closed loop sends at once: tokio's timer rounds a deadline up to
        // its next millisecond tick, so even `sleep_until(now)` parked each
        // request for up to a millisecond and capped 64 connections at
        // about 32,000 requests/s whatever the service did.
        let due = match rate {
            Some(r) => {
                let due = start + Duration::from_secs_f64(i as f64 / r);
                tokio::time::sleep_until(due.into()).await;
                due
            }
            None => Instant::now(),
        };
        stream.write_all(req).await.expect("send");
        let status = read_response(&mut stream, &mut buf).await;
        out.latency.push(due.elapsed());
        if (200..300).contains(&status) {
            out.ok += 1;
        } else {
            out.failed += 1;
        }
    }
    out
}

/// Reads one response (head + Content-Length body); its status code.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let need = end + 4 + content_length(&buf[..end]);
            if buf.len() >= need {
                let status = std::str::from_utf8(&buf[9..12])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                buf.drain(..need);
                return status;
            }
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the service closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
