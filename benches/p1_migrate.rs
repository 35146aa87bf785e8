//! P1 migrate: this release's inbox migrations (the hashed dedupe indexes,
//! built `CONCURRENTLY`, and the wide indexes dropped) applied to a
//! 10-million-row inbox while deliveries keep arriving.
//!
//! 1. A durable cluster, the service and four orgs connected through the
//!    simulator's OAuth, in this process. The migrations after
//!    [`BEFORE`] are reverted: the schema of the previous release.
//! 2. The inbox filled with `P1_ROWS` rows (default 10,000,000) as real
//!    traffic leaves it (`common::fill`).
//! 3. The project's open-loop generator sends 1,000 deliveries/s, in
//!    30-second rounds, until `migrate` (on a thread of its own) has applied
//!    the pending migrations.
//!
//! Target: no delivery waits 1 s or more (the longest ack is the longest
//! ingest was held up), 0 non-2xx.
//!
//! Run: `cargo bench --bench p1_migrate` (about 15 minutes at 10 million
//! rows; `P1_ROWS=1000000` for a quicker look).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arkiter_lever::db::migrate;
use common::stats::ms;
use common::{Bed, BedOptions, Hook, Samples, Verdicts};
use diesel_migrations::MigrationHarness;

const DEFAULT_ROWS: i64 = 10_000_000;
/// The last migration of the previous release.
const BEFORE: &str = "2026-12-06-100004";
const RATE: f64 = 1_000.0;
const ROUND_SECS: u64 = 30;

fn main() {
    common::header("P1 migrate: inbox indexes under a delivery stream");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let rows: i64 = common::env_or("P1_ROWS", DEFAULT_ROWS);
    let bed = Bed::start(BedOptions {
        durable: true,
        ..BedOptions::default()
    })
    .await;
    let mut hooks = Vec::new();
    for i in 0..4 {
        hooks.push(Hook::connect(&bed, &format!("P1 org {i}")).await);
    }
    let mut conn = bed.db();
    let mut reverted = 0;
    while conn
        .applied_migrations()
        .expect("applied migrations")
        .iter()
        .any(|v| v.to_string().replace('-', "") > BEFORE.replace('-', ""))
    {
        conn.revert_last_migration(migrate::MIGRATIONS)
            .expect("revert a migration");
        reverted += 1;
    }
    println!("reverted {reverted} migrations: the schema as of {BEFORE}");
    common::fill::deliveries(&mut conn, "lever_events", &hooks, rows);

    let url = bed.db_url.clone();
    let migrating = std::thread::spawn(move || {
        let started = Instant::now();
        let mut c = common::bed::connect(&url);
        let n = migrate::run_pending_on(&mut c).expect("migrate");
        (n, started.elapsed())
    });
    let addr = bed.api.address.trim_start_matches("http://").to_owned();
    let mut latency = Samples::default();
    let (mut ok, mut failed, mut seq) = (0, 0, 0usize);
    let started = Instant::now();
    loop {
        let done = migrating.is_finished();
        let now = chrono::Utc::now().timestamp_millis();
        let n = (RATE as u64 * ROUND_SECS) as usize;
        let reqs: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                seq += 1;
                let h = &hooks[seq % hooks.len()];
                let opp = uuid::Uuid::new_v4().to_string();
                let body = h.delivery_for(seq, now, false, &opp);
                common::load::request(&h.path, &serde_json::to_vec(&body).expect("json"))
            })
            .collect();
        let r = common::load::run(&addr, Arc::new(reqs), 16, Some(RATE)).await;
        ok += r.ok;
        failed += r.failed;
        for d in r.latency.values() {
            latency.push(*d);
        }
        // One more round after the migrations finished.
        if done {
            break;
        }
    }
    let (applied, took) = migrating.join().expect("migrate thread");
    println!(
        "{applied} migrations applied in {:.0} s; {ok} 2xx, {failed} other over {:.0} s; ack {}",
        took.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        latency.summary()
    );
    let mut v = Verdicts::default();
    let longest = latency.max();
    v.check(
        "P1",
        &format!("longest ack while migrating a {rows}-row inbox"),
        format!("{:.0} ms, {failed} non-2xx", ms(longest)),
        "< 1 s, 0 non-2xx".into(),
        failed == 0 && longest < Duration::from_secs(1) && applied == reverted,
    );
    v.finish("p1_migrate")
}
