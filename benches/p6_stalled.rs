//! P6: 2,000 connections stalled mid-body (item 3), against the
//! release binary.
//!
//! Setup: the service runs as a child process of the release binary (so its
//! memory is measured alone) on a temporary Postgres, with the simulator in
//! this process. After 200 `/healthz` requests its resident memory is the
//! baseline. Then 2,000 connections each send a webhook head announcing a
//! 60,000-byte body, a few bytes of it, and stall. While they hang, the
//! bench asks `/healthz` and sends a webhook; then it waits for the service
//! to close every stalled connection, and reads resident memory each second
//! for 20 s after the last one closed.
//!
//! Targets: every stalled connection closed within 30 s of being opened;
//! `/healthz` 200 and the webhook answered (not 5xx) meanwhile; resident
//! memory 20 s after the attack within 20 % of the baseline.
//!
//! Run: `cargo bench --bench p6_stalled` (about a minute after the build).

mod common;

use std::time::{Duration, Instant};

use common::Verdicts;
use common::child::{ChildBed, Service, ServiceEnv};
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STALLED: usize = 2_000;
const CLOSED_WITHIN: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(20);
const RSS_GROWTH_MAX: f64 = 0.20;

fn main() {
    common::header("P6 2,000 stalled connections");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let bed = ChildBed::start("p6-admin").await;
    let env = &bed.env;
    let svc = Service::spawn(env);
    svc.wait_ready(env, Instant::now()).await;
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(5))
        .finish();
    for _ in 0..200 {
        assert_eq!(healthz(&client, env).await.0, 200, "/healthz before");
    }
    let baseline = svc.rss_kib();

    let opened = Instant::now();
    let mut conns = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        conns.push(stall(env.port).await);
    }
    let open_for = opened.elapsed();
    let during = svc.rss_kib();
    let (hz_status, hz_time) = healthz(&client, env).await;
    let (hook_status, hook_time) = webhook(&client, env).await;
    let closes = join_all(conns.into_iter().map(|c| until_closed(c, opened))).await;
    let closed: Vec<Duration> = closes.iter().flatten().copied().collect();
    let last_close = closed.iter().max().copied().unwrap_or_default();

    let mut samples = Vec::new();
    let settle_from = Instant::now();
    while settle_from.elapsed() < SETTLE {
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        samples.push(svc.rss_kib());
    }
    let after = svc.rss_kib();
    let growth = after as f64 / baseline as f64 - 1.0;

    println!(
        "{STALLED} stalled connections opened in {:.2} s",
        open_for.as_secs_f64()
    );
    println!(
        "during: /healthz {hz_status} in {:.1} ms, webhook {hook_status} in {:.1} ms",
        common::stats::ms(hz_time),
        common::stats::ms(hook_time)
    );
    println!(
        "closed by the service: {} of {STALLED}, the last {:.2} s after the first was opened",
        closed.len(),
        last_close.as_secs_f64()
    );
    println!(
        "RSS: baseline {baseline} KiB, during {during} KiB, after {after} KiB ({:+.1} %)",
        growth * 100.0
    );
    println!("RSS each second after the last close (KiB): {samples:?}");

    let mut v = Verdicts::default();
    v.check(
        "P6",
        "stalled connections closed",
        format!(
            "{} of {STALLED}, last at {:.2} s",
            closed.len(),
            last_close.as_secs_f64()
        ),
        format!("all within {} s", CLOSED_WITHIN.as_secs()),
        closed.len() == STALLED && last_close <= CLOSED_WITHIN,
    );
    v.check(
        "P6",
        "/healthz and a webhook answer during the attack",
        format!("/healthz {hz_status}, webhook {hook_status}"),
        "200, and not 5xx".into(),
        hz_status == 200 && (200..500).contains(&hook_status),
    );
    v.check(
        "P6",
        "resident memory after the attack",
        format!("{after} KiB vs {baseline} KiB ({:+.1} %)", growth * 100.0),
        format!("within {:.0} % of the baseline", RSS_GROWTH_MAX * 100.0),
        growth <= RSS_GROWTH_MAX,
    );
    drop(svc);
    v.finish("p6_stalled")
}

/// `/healthz`: status and time taken (0 if it did not answer).
async fn healthz(client: &awc::Client, env: &ServiceEnv) -> (u16, Duration) {
    let t = Instant::now();
    let status = client
        .get(format!("{}/healthz", env.address()))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, t.elapsed())
}

/// A whole (unsigned) delivery for an org that does not exist: the route
/// must answer it, with a 4xx, while the stalled connections hang.
async fn webhook(client: &awc::Client, env: &ServiceEnv) -> (u16, Duration) {
    let t = Instant::now();
    let status = client
        .post(format!(
            "{}/webhooks/lever/{}",
            env.address(),
            uuid::Uuid::new_v4()
        ))
        .insert_header(("content-type", "application/json"))
        .send_body(r#"{"event":"candidateStageChange","token":"t","triggeredAt":1,"data":{}}"#)
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, t.elapsed())
}

/// A connection that sends a webhook head promising 60,000 bytes, a few of
/// them, and nothing more.
async fn stall(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "POST /webhooks/lever/{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{{\"token\":",
        uuid::Uuid::new_v4()
    );
    s.write_all(head.as_bytes()).await.expect("send the head");
    s
}

/// Reads until the service closes the connection: when, counted from
/// `opened`; `None` if it was still open 40 s after `opened`.
async fn until_closed(mut s: TcpStream, opened: Instant) -> Option<Duration> {
    let give_up = tokio::time::Instant::from_std(opened + Duration::from_secs(40));
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(give_up, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(opened.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}
