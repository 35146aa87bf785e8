//! P1 migrate: the migrations that add indexes to the inbox (the hashed
//! dedupe keys, the lifecycle and rare-reason indexes, each built
//! `CONCURRENTLY`) applied to a 10-million-row inbox while deliveries keep
//! arriving.
//!
//! 1. A durable cluster, the service and four orgs connected through the
//!    simulator's OAuth, in this process. The migrations in
//!    [`INBOX_INDEXES`] are reverted, and only they: the service streaming
//!    deliveries is this build, which uses columns later migrations
//!    added, so the schema around the indexes must be this release's.
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
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_migrations::MigrationHarness;

const DEFAULT_ROWS: i64 = 10_000_000;
/// The migrations whose only change is an index on `lever_events`, built
/// `CONCURRENTLY` (their down drops it).
const INBOX_INDEXES: [&str; 5] = [
    "2026-12-06-100006", // lever_events_token_key (unique)
    "2026-12-06-100007", // lever_events_move_key (unique, partial)
    "2026-12-07-000004", // lever_events_lifecycle
    "2026-12-07-000006", // lever_events_lifecycle_change (unique, partial)
    "2026-12-07-000014", // lever_events_org_rare_reason
];
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
    let mut indexes: Vec<_> = MigrationSource::<Pg>::migrations(&migrate::MIGRATIONS)
        .expect("the migrations")
        .into_iter()
        .filter(|m| {
            let version = m.name().version().to_string().replace('-', "");
            INBOX_INDEXES.iter().any(|v| v.replace('-', "") == version)
        })
        .collect();
    indexes.sort_by_key(|m| std::cmp::Reverse(m.name().version().as_owned()));
    for m in &indexes {
        conn.revert_migration(m.as_ref())
            .expect("revert an index migration");
    }
    let reverted = indexes.len();
    assert_eq!(
        reverted,
        INBOX_INDEXES.len(),
        "every listed migration exists"
    );
    println!("reverted {reverted} migrations: the inbox without {INBOX_INDEXES:?}");
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
