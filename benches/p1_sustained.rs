//! P1 sustained: ingest for 60 s into an inbox that already holds 10
//! million rows, against what a naive service would manage on the same
//! cluster (pgbench, one durable single-row insert per transaction into a
//! table of the same size with the same random-key unique indexes).
//!
//! 1. A durable cluster as the service runs it (fsync, synchronous_commit
//!    and full_page_writes on: asserted) with the service and four orgs
//!    connected through the simulator's OAuth, all in this process.
//! 2. The inbox filled with `P1_ROWS` rows (default 10,000,000) as real
//!    traffic leaves it (`common::fill`): random tokens and opportunity
//!    ids, Lever-sized bodies, received over the last day.
//! 3. `wrk`, a process of its own, 256 connections (`P1_CONNS`) for 20 + 60 s, sending
//!    pre-signed deliveries to a non-Arkiter stage, none sent twice. The
//!    first 20 s are a warm-up (the burst of full-page images after the
//!    fill's checkpoint). The service's count of 2xx answers is read every
//!    second: the rate of the last 60 s in 10-second steps. Every 2xx must
//!    be a committed row.
//! 4. Per delivery: Postgres CPU and this process's (service, simulator)
//!    CPU, WAL bytes, and bytes stored (heap, TOAST and indexes over rows).
//! 5. Ack latency: the project's open-loop generator (in this process, on
//!    threads of its own) sends 5,000 deliveries/s for 10 minutes; then the
//!    oldest million rows are made 31 days old (and vacuumed, as a month-old
//!    inbox would be) and it runs again while a retention pass (30 days)
//!    deletes them.
//! 6. The inbox is emptied (disk), and pgbench runs alone for 60 s on a
//!    copy of its table filled to the same size.
//!
//! Targets: deliveries/s over the 60 s >= 2 x pgbench's tps; no 10-second
//! step below 85 % of the median step; rows = 2xx; ack p99 < 20 ms and 0
//! non-2xx in both paced phases; the pass deletes the million rows.
//!
//! Run: `cargo bench --bench p1_sustained` (`P1_PGBENCH_ONLY=1`: step 6
//! alone). At 10 million rows it takes
//! about 40 minutes (two fills of about 5 minutes, 60 s of wrk, two
//! 10-minute paced phases, 60 s of pgbench) and needs the disk figures the
//! run prints. `P1_ROWS=1000000 P1_LATENCY_SECS=60` for a quicker look.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bed::{count, exec, show};
use common::pgstat::{
    Cpu, Machine, create_pgbench_table, pgbench, postmaster_pid, wait_for_autovacuum,
};
use common::wrk;
use common::{Bed, BedOptions, Hook, Verdicts};
use diesel::PgConnection;

const DEFAULT_ROWS: i64 = 10_000_000;
const SECS: u64 = 60;
/// Seconds of wrk's run before the measured 60: the fill ends with a
/// checkpoint, after which the first change to every index page writes the
/// whole page to the WAL; the run starts after that burst, as a service
/// that has been running does (between its checkpoints, 15 minutes apart).
const WARMUP: u64 = 20;
const STEP: Duration = Duration::from_secs(10);
/// wrk's connections (`P1_CONNS` to change it). Each waits for its
/// delivery's commit, so they bound how many rows a batch can hold: with
/// 64, a batch is at most 64 rows and the rate is what one commit cycle
/// allows (docs/BENCHMARKS.md has both).
const CONNS: usize = 256;
/// The paced phases' connections: enough that a slow commit (100 ms of a
/// busy disk is 500 deliveries at 5,000/s) never leaves a scheduled
/// request without a free connection. With 64, one such commit queued
/// requests in the generator itself, counted as the service's latency, and
/// the queue drained only 64 rows a commit (docs/BENCHMARKS.md).
const PACED_CONNS: usize = 1024;
const WRK_THREADS: usize = 2;
/// pgbench's clients (`P1_PGBENCH_CLIENTS` to change it): a naive
/// service's pool, one transaction per request.
const PGBENCH_CLIENTS: usize = 32;
/// Bodies prepared per second of the run: more than the service answers,
/// so that no delivery is sent twice.
const BODIES_PER_SEC: usize = 40_000;
/// The paced phases: rate, and length (`P1_LATENCY_SECS` to change it).
const PACED_RATE: f64 = 5_000.0;
const LATENCY_SECS: u64 = 600;
/// Rows made old enough for the retention pass of the second paced phase.
const RETAINED_ROWS: i64 = 1_000_000;

fn main() {
    common::header("P1 sustained, at a large inbox, vs pgbench");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let rows: i64 = common::env_or("P1_ROWS", DEFAULT_ROWS);
    if !wrk::available() {
        println!("wrk is not installed: apt-get install wrk");
        return false;
    }
    let bed = Bed::start(BedOptions {
        durable: true,
        ..BedOptions::default()
    })
    .await;
    let mut conn = bed.db();
    // For experiments: `P1_PG_SET="max_wal_size=8GB,wal_compression=lz4"`
    // (reloadable settings only), applied before anything is measured.
    for set in std::env::var("P1_PG_SET").unwrap_or_default().split(',') {
        if let Some((name, value)) = set.split_once('=') {
            exec(&mut conn, &format!("ALTER SYSTEM SET {name} = '{value}'"));
            exec(&mut conn, "SELECT pg_reload_conf()");
        }
    }
    let mut v = Verdicts::default();
    let durable = ["fsync", "synchronous_commit", "full_page_writes"]
        .iter()
        .all(|s| show(&mut conn, s) == "on");
    for s in [
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "shared_buffers",
        "max_wal_size",
        "checkpoint_timeout",
        "wal_compression",
    ] {
        println!("postgres {s} = {}", show(&mut conn, s));
    }
    let mut hooks = Vec::new();
    for i in 0..4 {
        hooks.push(Hook::connect(&bed, &format!("P1 org {i}")).await);
    }
    if std::env::var("P1_PGBENCH_ONLY").is_ok() {
        // The yardstick alone (its run needs no service phase first).
        let tps = yardstick(&bed, &mut conn, &hooks, rows);
        println!("pgbench alone at {rows} rows: {tps:.0} tps");
        return true;
    }
    common::fill::deliveries(&mut conn, "lever_events", &hooks, rows);
    let before = Stored::of(&mut conn, "lever_events");
    println!("inbox before: {}", before.line());

    let bodies = corpus(&hooks, (WARMUP + SECS) as usize * BODIES_PER_SEC);
    let addr = bed.api.address.trim_start_matches("http://").to_owned();
    let postmaster = postmaster_pid(&mut conn);
    let (cpu0, wal0, answered0) = (Cpu::now(postmaster), wal_lsn(&mut conn), answered());
    let machine0 = Machine::now();
    let conns: usize = common::env_or("P1_CONNS", CONNS);
    println!("wrk: {conns} connections");
    let run = std::thread::spawn(move || wrk::run(&addr, &bodies, conns, WARMUP + SECS));
    // The count every second; the steps start at the first second with
    // answers (wrk reads its request files before it sends).
    let mut timeline = vec![answered0];
    let started = Instant::now();
    while !run.is_finished() {
        actix_rt::time::sleep_until((started + Duration::from_secs(timeline.len() as u64)).into())
            .await;
        timeline.push(answered());
    }
    let first = timeline
        .iter()
        .position(|&n| n > answered0)
        .unwrap_or(1)
        .saturating_sub(1)
        + WARMUP as usize;
    let per_step = STEP.as_secs() as usize;
    let steps: Vec<f64> = (0..(SECS / STEP.as_secs()) as usize)
        .filter_map(|k| {
            let from = timeline.get(first + k * per_step)?;
            let to = timeline.get(first + (k + 1) * per_step)?;
            Some((to - from) as f64 / STEP.as_secs_f64())
        })
        .collect();
    let w = run.join().expect("wrk thread");
    let (cpu1, wal1) = (Cpu::now(postmaster), wal_lsn(&mut conn));
    let after = Stored::of(&mut conn, "lever_events");
    let ok = w.ok();
    let added = after.rows - before.rows;
    println!("inbox after: {}", after.line());
    let rate = steps.iter().sum::<f64>() / steps.len().max(1) as f64;
    for (i, s) in steps.iter().enumerate() {
        println!("  {:>3}-{:>3} s: {s:.0} deliveries/s", i * 10, i * 10 + 10);
    }
    println!(
        "wrk: {ok} 2xx, {} other, {:.1} s ({WARMUP} s of warm-up): {rate:.0} deliveries/s over the last {SECS} s; {}; WAL {:.0} B per delivery; stored {:.0} B per added row; CPU steal {:.0} %",
        w.failed,
        w.elapsed.as_secs_f64(),
        cpu1.since(&cpu0, ok),
        (wal1 - wal0) as f64 / ok.max(1) as f64,
        (after.bytes - before.bytes) as f64 / added.max(1) as f64,
        Machine::now().steal_since(&machine0),
    );

    // Ack latency under steady load, then the same while a retention pass
    // deletes a million rows.
    let lat_secs: u64 = common::env_or("P1_LATENCY_SECS", LATENCY_SECS);
    let mut seq = (WARMUP + SECS) as usize * BODIES_PER_SEC;
    // Steady load starts from a steady state, as the retention phase does
    // below: the wrk minute leaves gigabytes of dirty pages and WAL behind,
    // and the checkpoint that writes them out (and autovacuum, which its
    // inserts trigger) would otherwise fall inside this phase.
    exec(&mut conn, "CHECKPOINT");
    wait_for_autovacuum(&mut conn, Duration::from_secs(600));
    let steady = paced(&bed, &hooks, lat_secs, &mut seq).await;
    println!(
        "paced at {PACED_RATE}/s for {lat_secs} s: {}",
        steady.line()
    );
    let old = rows.min(RETAINED_ROWS);
    exec(
        &mut conn,
        &format!(
            "UPDATE lever_events SET received_at = now() - interval '31 days' \
             WHERE id IN (SELECT id FROM lever_events ORDER BY id LIMIT {old})"
        ),
    );
    // The backdating is the bench's own doing: it leaves a million dead row
    // versions and a million extra index entries that a month-old inbox
    // would have had vacuumed long ago. Left in place, they bring an
    // autovacuum with full index passes into the measured phase
    // (docs/BENCHMARKS.md, "Fifth run at 10 million rows, for diagnosis").
    exec(&mut conn, "VACUUM lever_events");
    exec(&mut conn, "CHECKPOINT");
    let url = bed.db_url.clone();
    let pass = std::thread::spawn(move || {
        let started = Instant::now();
        // As the service's hourly pass runs.
        let p = arkiter_lever::retention::run_once(&secrecy::SecretString::from(url), 30)
            .expect("retention pass");
        (p, started.elapsed())
    });
    let during = paced(&bed, &hooks, lat_secs, &mut seq).await;
    let (pruned, took) = pass.join().expect("retention thread");
    let deleted = pruned.map_or(0, |p| p.events);
    println!(
        "paced at {PACED_RATE}/s for {lat_secs} s during a retention pass: {}; the pass deleted {deleted} events in {:.0} s",
        during.line(),
        took.as_secs_f64()
    );

    // The yardstick: pgbench alone, on a table of the same size.
    exec(&mut conn, "TRUNCATE lever_events CASCADE");
    exec(&mut conn, "CHECKPOINT");
    let tps = yardstick(&bed, &mut conn, &hooks, rows);

    v.check(
        "P1",
        "durability as shipped",
        format!("fsync, synchronous_commit, full_page_writes on: {durable}"),
        "all on".into(),
        durable,
    );
    let ratio = rate / tps;
    v.check(
        "P1",
        &format!(
            "deliveries/s over {SECS} s at {} rows vs pgbench tps",
            before.rows
        ),
        format!("{rate:.0} / {tps:.0} = {ratio:.2}x"),
        ">= 2.00x".into(),
        ratio >= 2.0,
    );
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let lowest = sorted.first().copied().unwrap_or(0.0);
    v.check(
        "P1",
        "lowest 10-second step vs the median step",
        format!(
            "{lowest:.0} / {median:.0} = {:.0} %",
            100.0 * lowest / median.max(1.0)
        ),
        ">= 85 %".into(),
        median > 0.0 && lowest >= 0.85 * median,
    );
    for (what, r) in [("steady", &steady), ("during a retention pass", &during)] {
        let p99 = r.result.latency.percentile(99.0);
        v.check(
            "P1",
            &format!("ack p99 at {PACED_RATE}/s for {lat_secs} s, {what}"),
            format!(
                "{:.2} ms, {} non-2xx, {:.0}/s achieved",
                common::stats::ms(p99),
                r.result.failed,
                r.result.rate()
            ),
            "< 20 ms, 0 non-2xx".into(),
            r.result.failed == 0
                && r.result.rate() >= 0.95 * PACED_RATE
                && p99 < Duration::from_millis(20),
        );
    }
    v.check(
        "P1",
        "the retention pass during the second paced phase",
        format!("{deleted} events deleted in {:.0} s", took.as_secs_f64()),
        format!("{old} deleted"),
        deleted as i64 == old,
    );
    // wrk stops with up to one request per connection sent and not
    // counted: those may be committed rows without a counted 2xx.
    v.check(
        "P1",
        "every 2xx a committed row",
        format!("{added} rows, {ok} 2xx, {} non-2xx", w.failed),
        format!("2xx <= rows <= 2xx + {conns} (in flight at the stop)"),
        w.failed == 0 && ok as i64 <= added && added <= ok as i64 + conns as i64,
    );
    v.finish("p1_sustained")
}

/// Deliveries to each org's other stage, round robin, for `wrk`'s threads:
/// unique tokens, random opportunity ids (as Lever's are), signed now.
fn corpus(hooks: &[Hook], n: usize) -> Vec<Arc<Vec<Vec<u8>>>> {
    let now = chrono::Utc::now().timestamp_millis();
    let per = n / WRK_THREADS;
    (0..WRK_THREADS)
        .map(|t| {
            let reqs = (t * per..(t + 1) * per)
                .map(|seq| request(hooks, seq, now))
                .collect();
            Arc::new(reqs)
        })
        .collect()
}

/// pgbench alone for [`SECS`] on `pgbench_deliveries` filled to `rows`;
/// its tps.
fn yardstick(bed: &Bed, conn: &mut PgConnection, hooks: &[Hook], rows: i64) -> f64 {
    create_pgbench_table(conn);
    common::fill::deliveries(conn, "pgbench_deliveries", hooks, rows);
    // As quiet a start as the service's run had: the emptied inbox and the
    // filled table vacuumed (else autovacuum runs beside pgbench), and the
    // same warm-up after the fill's checkpoint, not measured.
    exec(conn, "VACUUM (ANALYZE) lever_events, pgbench_deliveries");
    wait_for_autovacuum(conn, Duration::from_secs(600));
    let clients: usize = common::env_or("P1_PGBENCH_CLIENTS", PGBENCH_CLIENTS);
    println!("pgbench: {clients} clients, {WARMUP} s of warm-up (not measured)");
    pgbench(bed, WARMUP, clients);
    let before = Stored::of(conn, "pgbench_deliveries");
    let (wal0, machine0) = (wal_lsn(conn), Machine::now());
    let tps = pgbench(bed, SECS, clients);
    let wal1 = wal_lsn(conn);
    let added = (Stored::of(conn, "pgbench_deliveries").rows - before.rows).max(1);
    println!(
        "pgbench: {tps:.0} tps; WAL {:.0} B per row; CPU steal {:.0} %",
        (wal1 - wal0) as f64 / added as f64,
        Machine::now().steal_since(&machine0)
    );
    tps
}

/// A paced phase's figures.
struct Paced {
    result: common::load::LoadResult,
    /// Percent of the machine's CPU time the hypervisor gave elsewhere.
    steal: f64,
}

impl Paced {
    fn line(&self) -> String {
        format!(
            "{} 2xx, {} other, {:.0}/s; ack latency {}; CPU steal {:.0} %",
            self.result.ok,
            self.result.failed,
            self.result.rate(),
            self.result.latency.summary(),
            self.steal
        )
    }
}

/// The project's own open-loop generator at [`PACED_RATE`] for `secs`
/// seconds: other-stage deliveries, latency from each one's scheduled time.
async fn paced(bed: &Bed, hooks: &[Hook], secs: u64, seq: &mut usize) -> Paced {
    let n = (PACED_RATE as u64 * secs) as usize;
    let now = chrono::Utc::now().timestamp_millis();
    let reqs: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            *seq += 1;
            request(hooks, *seq, now)
        })
        .collect();
    let addr = bed.api.address.trim_start_matches("http://").to_owned();
    let before = Machine::now();
    let result = common::load::run(&addr, Arc::new(reqs), PACED_CONNS, Some(PACED_RATE)).await;
    Paced {
        result,
        steal: Machine::now().steal_since(&before),
    }
}

/// Delivery `seq`: to the other stage of one of the hooks, a random
/// opportunity id (as Lever's are), signed `now`.
fn request(hooks: &[Hook], seq: usize, now: i64) -> Vec<u8> {
    let h = &hooks[seq % hooks.len()];
    let opp = uuid::Uuid::from_u128(
        (seq as u128).wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15) | 1,
    );
    let body = h.delivery_for(seq, now, false, &opp.to_string());
    common::load::request(&h.path, &serde_json::to_vec(&body).expect("json"))
}

/// 2xx answers the service has given so far (accepted, ignored, duplicate).
fn answered() -> u64 {
    common::metrics::counter(
        "arkiter_webhooks_total",
        &["accepted", "ignored", "duplicate"],
    ) as u64
}

/// The server's WAL position, in bytes.
fn wal_lsn(conn: &mut PgConnection) -> i64 {
    count(
        conn,
        "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS n",
    )
}

/// A table's rows and its bytes on disk (heap, TOAST, indexes).
struct Stored {
    rows: i64,
    bytes: i64,
    indexes: i64,
}

impl Stored {
    fn of(conn: &mut PgConnection, table: &str) -> Self {
        Self {
            rows: count(conn, &format!("SELECT count(*) AS n FROM {table}")),
            bytes: count(
                conn,
                &format!("SELECT pg_total_relation_size('{table}') AS n"),
            ),
            indexes: count(conn, &format!("SELECT pg_indexes_size('{table}') AS n")),
        }
    }

    fn line(&self) -> String {
        let per = |b: i64| b as f64 / self.rows.max(1) as f64;
        format!(
            "{} rows, {:.0} MB ({:.0} B per row: heap {:.0}, indexes {:.0})",
            self.rows,
            self.bytes as f64 / 1e6,
            per(self.bytes),
            per(self.bytes - self.indexes),
            per(self.indexes)
        )
    }
}
