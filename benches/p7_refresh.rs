//! P7: 10,000 connections due for their daily token refresh at once.
//!
//! Setup: the service runs as a child process of the release binary on a
//! temporary Postgres, with the simulator in this process. 10,000 Lever
//! accounts each get an access token (valid for an hour) and a refresh token
//! at the simulator, as a past consent would have left them, and the same 10,000 connections are written
//! straight into the database as connecting leaves them, but last
//! refreshed 25 hours ago (every one due; access tokens still valid for an
//! hour, so nothing else needs Lever). Every `/oauth/token` call is held
//! 20 ms by the simulator, so refreshes in flight together overlap in its
//! call log. The service takes all 10,000 leases and refreshes them.
//!
//! Measured while the refreshes run: the most `/oauth/token` calls in flight
//! at once (from the call log: each call's arrival to its answer), the
//! refresh rate and the service's CPU per refresh, and the admin API's
//! latency (`GET /api/v1/orgs/{org}` for a random org every 50 ms, open loop:
//! latency counts from each request's scheduled time).
//!
//! Targets: refreshes in flight at once ≤ the configured bound (4, the
//! internal setting `refresh_concurrency`); admin API p99 < 100 ms; every
//! connection refreshed and still active.
//!
//! Run: `cargo bench --bench p7_refresh` (about 3 minutes after the build).

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use arkiter_lever::domain::secrets::SecretBox;
use arkiter_lever::lever::sim::{
    DEFAULT_CLIENT_ID, FaultAction, FaultRule, SeededGrant, SimHandle,
};
use common::Samples;
use common::bed::{Api, count};
use common::child::{ChildBed, Service};
use common::stats::ms;

const N: usize = 10_000;
const BOUND: usize = 4;
const HOLD_MS: u64 = 20;
const ADMIN_EVERY: Duration = Duration::from_millis(50);
const GIVE_UP: Duration = Duration::from_secs(600);

fn main() {
    common::header("P7 10,000 daily refreshes");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let bed = ChildBed::start("p7-admin").await;
    let (db_url, sim, env) = (&bed.db_url, &bed.sim, &bed.env);
    let t = Instant::now();
    let orgs = seed(db_url, sim, &SecretBox::new(&bed.key));
    println!(
        "seeded {N} accounts due for their refresh in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let started_ms = chrono::Utc::now().timestamp_millis();
    let svc = Service::spawn(env);
    svc.wait_ready(env, Instant::now()).await;
    let api = Rc::new(Api::new(env.address(), env.admin.clone()));
    let latency = Rc::new(RefCell::new(Samples::default()));
    let failed = Rc::new(std::cell::Cell::new(0usize));
    let (cpu0, t0) = (svc.cpu(), Instant::now());
    // The admin API, sampled while the refreshes run.
    let mut next = Instant::now();
    let mut i = 0usize;
    let done = loop {
        let refreshed = count(
            &mut common::bed::connect(db_url),
            &format!(
                "SELECT count(*) AS n FROM connections WHERE last_refreshed_at > to_timestamp({})",
                started_ms as f64 / 1000.0
            ),
        ) as usize;
        if refreshed >= N || t0.elapsed() > GIVE_UP {
            break refreshed;
        }
        for _ in 0..10 {
            let scheduled = next;
            let (api, latency, failed) = (api.clone(), latency.clone(), failed.clone());
            let org = orgs[(i * 7919) % orgs.len()];
            i += 1;
            actix_web::rt::spawn(async move {
                let (status, _) = api
                    .call(
                        "GET",
                        &format!("/api/v1/orgs/{org}"),
                        Some(&api.admin),
                        None,
                    )
                    .await;
                latency.borrow_mut().push(scheduled.elapsed());
                if status != 200 {
                    failed.set(failed.get() + 1);
                }
            });
            next += ADMIN_EVERY;
            actix_web::rt::time::sleep_until(next.into()).await;
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    let cpu = svc.cpu() - cpu0;
    let in_flight = most_at_once(sim);
    let active = count(
        &mut common::bed::connect(db_url),
        "SELECT count(*) AS n FROM connections WHERE status = 'active' AND token_state = 'valid'",
    );
    let lat = latency.borrow().clone();
    println!(
        "{done} of {N} refreshed in {secs:.1} s ({:.0}/s); service CPU {:.2} ms per refresh ({:.0}% of a core)",
        done as f64 / secs,
        cpu.as_secs_f64() * 1000.0 / done.max(1) as f64,
        cpu.as_secs_f64() / secs * 100.0
    );
    println!(
        "most /oauth/token calls in flight at once: {in_flight}; active and valid afterwards: {active}"
    );
    println!(
        "admin GET while refreshing ({} requests, {} not 200): {}",
        lat.len(),
        failed.get(),
        lat.summary()
    );
    drop(svc);
    let mut v = common::Verdicts::default();
    v.check(
        "P7",
        "refreshes in flight at once",
        in_flight.to_string(),
        format!("<= {BOUND}"),
        in_flight <= BOUND && in_flight > 0,
    );
    let p99 = lat.percentile(99.0);
    v.check(
        "P7",
        "admin API p99 while 10,000 refresh",
        format!("{:.1} ms", ms(p99)),
        "< 100 ms".into(),
        p99 < Duration::from_millis(100) && !lat.is_empty() && failed.get() == 0,
    );
    v.check(
        "P7",
        "connections refreshed and active",
        format!("{done} refreshed, {active} active"),
        format!("{N} and {N}"),
        done == N && active as usize == N,
    );
    v.finish("p7_refresh")
}

/// Accounts at the simulator with their tokens, and their connections in
/// the database, last refreshed 25 hours ago; the org ids.
fn seed(db_url: &str, sim: &SimHandle, secrets: &SecretBox) -> Vec<uuid::Uuid> {
    let hold = FaultRule::always(FaultAction::Latency { ms: HOLD_MS }).on("POST", "/oauth/token");
    let accounts: Vec<String> = (0..N)
        .map(|i| {
            let account = sim.create_account(&format!("P7 {i}"));
            let grant = SeededGrant {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                scope: arkiter_lever::lever::SCOPES.to_owned(),
                access_token: format!("p7-access-{i}"),
                access_ttl_ms: 3_600_000,
                refresh_token: format!("p7-refresh-{i}"),
            };
            sim.grant_tokens(&account, &grant).expect("grant");
            sim.add_fault(&account, hold.clone()).expect("fault");
            account
        })
        .collect();
    let seeded: Vec<common::seed::Account> = accounts
        .into_iter()
        .enumerate()
        .map(|(i, lever_account_id)| common::seed::Account {
            lever_account_id,
            access_token: format!("p7-access-{i}"),
            refresh_token: format!("p7-refresh-{i}"),
        })
        .collect();
    common::seed::connected(db_url, secrets, "P7 org", "p7-stage", &seeded, 25.0)
}

/// The most `/oauth/token` calls between arrival and answer at one moment.
fn most_at_once(sim: &SimHandle) -> usize {
    let mut edges: Vec<(i64, i32)> = sim
        .call_log()
        .iter()
        .filter(|c| c.path == "/oauth/token")
        .flat_map(|c| [(c.received_ms, 1), (c.at_ms, -1)])
        .collect();
    // At the same millisecond an answer comes before an arrival.
    edges.sort_unstable();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}
