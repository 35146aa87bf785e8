//! P4: 10,000 connected accounts in one process.
//!
//! Setup: the service runs as a child process of the release binary (so its
//! memory is measured alone) on a temporary Postgres, with the simulator in
//! this process. 9,900 idle accounts are written straight into the database
//! as the connect flow leaves them (org, active connection with sealed
//! tokens valid for an hour and refreshed just now), before the service
//! starts; 100 more are connected through the real OAuth flow. The registry
//! then takes all 10,000 leases and runs a supervisor for each.
//!
//! Targets: idle resident memory < 200 MB; restart (SIGTERM, start again)
//! to `/readyz` 200 in < 5 s; the 100 OAuth-connected accounts bulk-moving
//! at once reach ≥ 90% of 100 × 10 Lever calls/s in aggregate.
//! Also printed: the idle service's CPU use and database transactions/s.
//!
//! Run: `cargo bench --bench p4_accounts` (about 2 minutes after the build).

mod common;

use std::time::{Duration, Instant};

use arkiter_lever::domain::secrets::SecretBox;
use common::bed::{Api, count};
use common::child::{ChildBed, Service, ServiceEnv};
use common::{Org, Verdicts};

const IDLE: usize = 9_900;
const MOVERS: usize = 100;
const PER_MOVER: usize = 60;
const WINDOW: Duration = Duration::from_secs(10);

fn main() {
    common::header("P4 10,000 accounts");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let bed = ChildBed::start("p4-admin").await;
    let (db_url, sim, key, env) = (&bed.db_url, &bed.sim, &bed.key, &bed.env);
    let t = Instant::now();
    seed_idle(db_url, &SecretBox::new(key), IDLE);
    println!(
        "seeded {IDLE} idle accounts in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let svc = Service::spawn(env);
    let first_ready = svc.wait_ready(env, Instant::now()).await;
    println!(
        "first start: /readyz 200 after {:.0} ms",
        first_ready.as_secs_f64() * 1000.0
    );
    let api = Api::new(env.address(), env.admin.clone());
    let mut movers = Vec::new();
    for i in 0..MOVERS {
        movers.push(Org::connect(&api, sim, &format!("P4 mover {i}")).await);
    }
    let held = wait_leases(db_url, IDLE + MOVERS).await;
    println!(
        "leases held: {held} after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let idle = measure_idle(&svc, db_url).await;
    let restart = restart(svc, env).await;
    let (svc, ready) = restart;
    wait_leases(db_url, IDLE + MOVERS).await;
    let rate = bulk(sim, &movers).await;
    let rss_busy = svc.rss_kib();
    println!(
        "RSS after the bulk move: {:.1} MiB",
        rss_busy as f64 / 1024.0
    );
    report(idle, ready, rate)
}

/// Orgs and active connections with sealed tokens, straight into the
/// database, for Lever accounts the simulator does not know.
fn seed_idle(db_url: &str, secrets: &SecretBox, n: usize) {
    let accounts: Vec<common::seed::Account> = (0..n)
        .map(|i| common::seed::Account {
            lever_account_id: format!("idle-{i}"),
            access_token: format!("idle-access-{i}"),
            refresh_token: format!("idle-refresh-{i}"),
        })
        .collect();
    common::seed::connected(db_url, secrets, "P4 idle", "idle-stage", &accounts, 0.0);
}

async fn wait_leases(db_url: &str, want: usize) -> i64 {
    let t = Instant::now();
    loop {
        let n = count(
            &mut common::bed::connect(db_url),
            "SELECT count(*) AS n FROM connection_leases WHERE owner IS NOT NULL AND expires_at > now()",
        );
        if n as usize >= want || t.elapsed() > Duration::from_secs(120) {
            return n;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the idle service costs: memory, CPU and database transactions.
struct Idle {
    rss_kib: u64,
    cpu_share: f64,
    xact_per_s: f64,
}

async fn measure_idle(svc: &Service, db_url: &str) -> Idle {
    // Let start-up work (first polls, heartbeats) settle.
    actix_web::rt::time::sleep(Duration::from_secs(15)).await;
    let mut c = common::bed::connect(db_url);
    let xact = "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'bench'";
    let (cpu0, x0, t0) = (svc.cpu(), count(&mut c, xact), Instant::now());
    actix_web::rt::time::sleep(Duration::from_secs(20)).await;
    let secs = t0.elapsed().as_secs_f64();
    let idle = Idle {
        rss_kib: svc.rss_kib(),
        cpu_share: (svc.cpu() - cpu0).as_secs_f64() / secs,
        xact_per_s: (count(&mut c, xact) - x0) as f64 / secs,
    };
    println!(
        "idle: RSS {:.1} MiB ({:.1} KiB per account); CPU {:.1}% of a core; {:.0} DB transactions/s",
        idle.rss_kib as f64 / 1024.0,
        idle.rss_kib as f64 / (IDLE + MOVERS) as f64,
        idle.cpu_share * 100.0,
        idle.xact_per_s
    );
    idle
}

/// SIGTERM, then a new process: the time from its start to `/readyz` 200.
async fn restart(svc: Service, env: &ServiceEnv) -> (Service, Duration) {
    let stopped = svc.stop();
    println!(
        "graceful stop took {:.0} ms",
        stopped.as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let svc = Service::spawn(env);
    let ready = svc.wait_ready(env, t).await;
    println!(
        "restart: /readyz 200 after {:.0} ms",
        ready.as_secs_f64() * 1000.0
    );
    (svc, ready)
}

/// All movers move their candidates at once; aggregate Lever calls/s over a
/// window starting 3 s in (past the initial bursts).
async fn bulk(sim: &arkiter_lever::lever::sim::SimHandle, movers: &[Org]) -> f64 {
    let opps: Vec<Vec<String>> = movers
        .iter()
        .map(|o| o.candidates(sim, PER_MOVER))
        .collect();
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    sim.clear_call_log();
    let start_ms = chrono::Utc::now().timestamp_millis();
    for (o, ids) in movers.iter().zip(&opps) {
        o.move_in(sim, ids);
    }
    actix_web::rt::time::sleep(Duration::from_secs(3) + WINDOW).await;
    let (from, to) = (
        start_ms + 3_000,
        start_ms + 3_000 + WINDOW.as_millis() as i64,
    );
    let calls = sim.call_log();
    let in_window = calls
        .iter()
        .filter(|c| c.at_ms >= from && c.at_ms < to && c.path.starts_with("/v1/"))
        .count();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    let rate = in_window as f64 / WINDOW.as_secs_f64();
    println!(
        "bulk: {MOVERS} accounts x {PER_MOVER} moves; {rate:.0} Lever calls/s in aggregate over {} s ({:.1}% of {}); {throttled} 429s",
        WINDOW.as_secs(),
        rate / (MOVERS as f64 * 10.0) * 100.0,
        MOVERS * 10
    );
    rate
}

fn report(idle: Idle, ready: Duration, rate: f64) -> bool {
    let mut v = Verdicts::default();
    let mib = idle.rss_kib as f64 / 1024.0;
    v.check(
        "P4",
        "idle RSS, 10,000 accounts",
        format!("{mib:.1} MB"),
        "< 200 MB".into(),
        mib < 200.0,
    );
    v.check(
        "P4",
        "restart to /readyz 200",
        format!("{:.0} ms", ready.as_secs_f64() * 1000.0),
        "< 5000 ms".into(),
        ready < Duration::from_secs(5),
    );
    let want = 0.9 * MOVERS as f64 * 10.0;
    v.check(
        "P4",
        "100 accounts bulk-moving",
        format!("{rate:.0} calls/s"),
        format!(">= {want:.0} calls/s"),
        rate >= want,
    );
    v.finish("p4_accounts")
}
