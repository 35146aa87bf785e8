//! Slow clients cannot starve the service: connections that send a head
//! announcing a 60,000-byte body and then stall are answered 408 and closed
//! once the body deadline passes (well within 30 s), while `/healthz` and a
//! webhook keep answering. `ARKITER_TEST_STALLED` raises the number of
//! stalled connections (default 200; the issue measured 2,000).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::webhooks::{KEY, setup, stage_change};

fn stalled_count() -> usize {
    std::env::var("ARKITER_TEST_STALLED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Opens a connection, sends a head promising 60,000 bytes and a few of them.
async fn stall(port: u16, path: &str, bearer: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {bearer}\r\nContent-Length: 60000\r\n\r\n{{\"name\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// Reads until the server closes; what it sent, or `None` past `deadline`.
async fn until_closed(mut s: TcpStream, deadline: tokio::time::Instant) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[actix_web::test]
async fn stalled_bodies_are_closed_while_the_service_keeps_answering() {
    let s = setup("active").await;
    let port: u16 = s.app.address.rsplit(':').next().unwrap().parse().unwrap();
    let before = rss_kib();
    let n = stalled_count();
    let start = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let path = if i % 2 == 0 {
            format!("/webhooks/lever/{}", s.conn)
        } else {
            "/api/v1/orgs".to_owned()
        };
        conns.push(stall(port, &path, &s.app.admin()).await);
    }
    // Meanwhile the service answers.
    let h = s.app.get("/healthz", None).await;
    assert_eq!(h.status, 200);
    let opp = format!("opp-{}", uuid::Uuid::new_v4());
    let w = s
        .app
        .post_webhook(&s.conn, &stage_change(KEY, &opp, "stage-x"))
        .await;
    assert_eq!(w.status, 200, "{}", w.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let answers = join_all(conns.into_iter().map(|c| until_closed(c, deadline))).await;
    let closed_after = start.elapsed();
    let open = answers.iter().filter(|a| a.is_none()).count();
    assert_eq!(
        open, 0,
        "{open} of {n} stalled connections still open after 30 s"
    );
    let timed_out = answers
        .iter()
        .flatten()
        .filter(|a| a.starts_with("HTTP/1.1 408"))
        .count();
    assert_eq!(timed_out, n, "every stalled request is answered 408");
    assert!(
        answers
            .iter()
            .flatten()
            .all(|a| a.contains("request_timeout")),
        "the 408s carry the error shape"
    );
    let h = s.app.get("/healthz", None).await;
    assert_eq!(h.status, 200);
    eprintln!(
        "{n} stalled connections closed after {closed_after:?}; RSS {before:?} KiB before, {:?} KiB after",
        rss_kib()
    );
}
