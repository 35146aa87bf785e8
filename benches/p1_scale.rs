//! P1 at scale: the admin events list and duplicate deliveries with 10
//! million rows in `lever_events`.
//!
//! 1. The service and one org connected through the simulator's OAuth, on
//!    the temporary cluster (reads and dedupe probes do not depend on
//!    fsync; the fill would take far longer durable).
//! 2. The inbox filled with `INSERT .. SELECT generate_series` (secondary
//!    indexes dropped during the fill and built again after it, as the
//!    migrations define them): 1 row in 10 belongs to the measured org,
//!    the rest to 99 other orgs; time-ordered ids, received over the last
//!    ~3 hours, 1 in 1,000 `dead`, the rest `done`.
//! 3. From the admin API, as the org's admin: the first page of
//!    `GET /api/v1/orgs/{org}/events`, its 10th page (by cursor), the first
//!    page of `?status=dead`, and (no target) of `?status=retrying`, which
//!    the org has none of; 40 requests each after 3 warm-ups.
//! 4. Signed deliveries: 200 new ones, then each again (same `token`:
//!    dedupe identity 1), then each with a new token but the same move
//!    (identity 2). Every repeat must answer `duplicate`.
//!
//! Targets: list pages p95 < 50 ms (the console's); a duplicate
//! delivery p95 < 20 ms (the ack target of P1).
//!
//! Run: `cargo bench --bench p1_scale` (the fill takes minutes);
//! `P1_SCALE_ROWS=1000000` for a quicker look at a smaller table.

mod common;

use std::time::{Duration, Instant};

use arkiter_lever::lever::signature;
use common::bed::{count, exec, strings};
use common::stats::ms;
use common::{Bed, BedOptions, Hook, Samples, Verdicts};
use diesel::PgConnection;
use serde_json::Value;

const DEFAULT_ROWS: i64 = 10_000_000;
/// Rows per fill statement (progress is printed after each).
const CHUNK: i64 = 1_000_000;
const WARMUP: usize = 3;
const PAGE_SAMPLES: usize = 40;
const DELIVERIES: usize = 200;

fn main() {
    common::header("P1 at 10 million inbox rows");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let rows: i64 = common::env_or("P1_SCALE_ROWS", DEFAULT_ROWS);
    let bed = Bed::start(BedOptions::default()).await;
    let hook = Hook::connect(&bed, "Scale org").await;
    let mut conn = bed.db();
    fill(&mut conn, &hook, rows);
    let total = count(&mut conn, "SELECT count(*) AS n FROM lever_events");
    let mine = count(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM lever_events WHERE org_id = '{}'",
            hook.org.org
        ),
    );
    println!("lever_events: {total} rows, {mine} of the measured org");

    let list = format!("/api/v1/orgs/{}/events", hook.org.org);
    let first = page_times(&bed, &hook, &format!("{list}?limit=50")).await;
    println!("events list, first page:  {}", first.summary());
    let mut cursor = String::new();
    for _ in 0..9 {
        let (_, body) = get(&bed, &hook, &format!("{list}?limit=50{cursor}")).await;
        let next = body["next_cursor"].as_str().expect("a next page");
        cursor = format!("&cursor={next}");
    }
    let tenth = page_times(&bed, &hook, &format!("{list}?limit=50{cursor}")).await;
    println!("events list, 10th page:   {}", tenth.summary());
    let dead = page_times(&bed, &hook, &format!("{list}?limit=50&status=dead")).await;
    println!("events list, status=dead: {}", dead.summary());
    // No target: a status the org has no row of reads all its events (no
    // index serves it; see docs/BENCHMARKS.md).
    let none = page_times(&bed, &hook, &format!("{list}?limit=50&status=retrying")).await;
    println!("events list, status=retrying (none): {}", none.summary());

    let now = chrono::Utc::now().timestamp_millis();
    let bodies: Vec<Value> = (0..DELIVERIES)
        .map(|i| hook.delivery(i, now, false))
        .collect();
    let (new, _) = deliver(&bed, &hook, &bodies).await;
    println!("new deliveries:              {}", new.summary());
    let (same_token, dup1) = deliver(&bed, &hook, &bodies).await;
    println!("duplicates (same token):     {}", same_token.summary());
    let moved: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| retokened(&hook, b, i, now))
        .collect();
    let (same_move, dup2) = deliver(&bed, &hook, &moved).await;
    println!("duplicates (same move):      {}", same_move.summary());
    let after = count(&mut conn, "SELECT count(*) AS n FROM lever_events");

    let mut v = Verdicts::default();
    for (what, s, limit_ms) in [
        ("events list first page p95", &first, 50),
        ("events list 10th page p95", &tenth, 50),
        ("events list status=dead p95", &dead, 50),
        ("duplicate (same token) p95", &same_token, 20),
        ("duplicate (same move) p95", &same_move, 20),
    ] {
        let p95 = s.percentile(95.0);
        v.check(
            "P1@10M",
            what,
            format!("{:.2} ms", ms(p95)),
            format!("< {limit_ms} ms"),
            p95 < Duration::from_millis(limit_ms),
        );
    }
    v.check(
        "P1@10M",
        "repeats answered duplicate, nothing stored twice",
        format!(
            "{} of {} duplicate; {} rows added",
            dup1 + dup2,
            2 * DELIVERIES,
            after - total
        ),
        format!("{} duplicate; {DELIVERIES} rows added", 2 * DELIVERIES),
        dup1 + dup2 == 2 * DELIVERIES && after - total == DELIVERIES as i64,
    );
    v.finish("p1_scale")
}

/// Fills the inbox with `rows` rows (see the module docs).
fn fill(conn: &mut PgConnection, hook: &Hook, rows: i64) {
    let started = Instant::now();
    exec(conn, "SET maintenance_work_mem = '1GB'");
    exec(conn, "SET synchronous_commit = off");
    let (org, connection) = (&hook.org.org, connection_id(hook));
    // The secondary indexes, as the migrations made them; built again after.
    let constraints = strings(
        conn,
        "SELECT 'ALTER TABLE lever_events ADD CONSTRAINT ' || conname || ' ' \
         || pg_get_constraintdef(oid) AS s FROM pg_constraint \
         WHERE conrelid = 'lever_events'::regclass AND contype = 'u'",
    );
    let indexes = strings(
        conn,
        "SELECT indexdef AS s FROM pg_indexes WHERE tablename = 'lever_events' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint \
           WHERE conrelid = 'lever_events'::regclass)",
    );
    for name in strings(
        conn,
        "SELECT conname AS s FROM pg_constraint \
         WHERE conrelid = 'lever_events'::regclass AND contype = 'u'",
    ) {
        exec(
            conn,
            &format!("ALTER TABLE lever_events DROP CONSTRAINT {name}"),
        );
    }
    for name in strings(
        conn,
        "SELECT indexname AS s FROM pg_indexes WHERE tablename = 'lever_events' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint \
           WHERE conrelid = 'lever_events'::regclass)",
    ) {
        exec(conn, &format!("DROP INDEX {name}"));
    }
    let mut from = 1;
    while from <= rows {
        let to = (from + CHUNK - 1).min(rows);
        exec(
            conn,
            &format!(
                "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
                   opportunity_id, to_stage_id, from_stage_id, payload, status, reason, attempts, \
                   received_at, updated_at, next_attempt_at) \
                 SELECT (lpad(to_hex(1764000000000 + i), 12, '0') || '7000' || '8000' \
                         || lpad(to_hex(i), 12, '0'))::uuid, \
                   CASE WHEN i % 10 = 0 THEN '{connection}'::uuid \
                        ELSE ('00000000-0000-4000-8000-' || lpad((i % 99)::text, 12, '0'))::uuid END, \
                   CASE WHEN i % 10 = 0 THEN '{org}'::uuid \
                        ELSE ('00000000-0000-4000-9000-' || lpad((i % 99)::text, 12, '0'))::uuid END, \
                   'candidateStageChange', 'fill-' || i, 1764000000000 + i, 'fill-opp-' || i, \
                   'fill-stage', 'fill-start', '{{\"fill\":' || i || '}}', \
                   CASE WHEN i % 1000 = 0 THEN 'dead' ELSE 'done' END, NULL, 1, \
                   now() - ({rows} - i) * interval '1 millisecond', now(), now() \
                 FROM generate_series({from}, {to}) i"
            ),
        );
        println!(
            "  filled {to} rows ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
    for sql in constraints.iter().chain(&indexes) {
        exec(conn, sql);
    }
    exec(conn, "VACUUM ANALYZE lever_events");
    println!(
        "fill: {rows} rows and their indexes in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn connection_id(hook: &Hook) -> &str {
    hook.path.rsplit('/').next().expect("connection id")
}

async fn get(bed: &Bed, hook: &Hook, path: &str) -> (u16, Value) {
    bed.api.call("GET", path, Some(&hook.org.key), None).await
}

/// Times `path` [`PAGE_SAMPLES`] times after [`WARMUP`] requests.
async fn page_times(bed: &Bed, hook: &Hook, path: &str) -> Samples {
    let mut samples = Samples::default();
    for i in 0..WARMUP + PAGE_SAMPLES {
        let t = Instant::now();
        let (status, body) = get(bed, hook, path).await;
        let took = t.elapsed();
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body["items"].is_array(), "{path}: {body}");
        if i >= WARMUP {
            samples.push(took);
        }
    }
    samples
}

/// Posts each body in turn; the times, and how many answered `duplicate`.
async fn deliver(bed: &Bed, hook: &Hook, bodies: &[Value]) -> (Samples, usize) {
    let mut samples = Samples::default();
    let mut duplicates = 0;
    for b in bodies {
        let t = Instant::now();
        let (status, answer) = bed.api.call("POST", &hook.path, None, Some(b)).await;
        samples.push(t.elapsed());
        assert_eq!(status, 200, "{answer}");
        if answer["status"] == "duplicate" {
            duplicates += 1;
        }
    }
    (samples, duplicates)
}

/// The same move as `body` under another token (a second webhook of the
/// account delivering it), signed.
fn retokened(hook: &Hook, body: &Value, i: usize, now: i64) -> Value {
    let token = format!("second-webhook-{i:034}");
    let mut b = body.clone();
    b["signature"] = signature::sign(&hook.key, &token, now).into();
    b["token"] = token.into();
    b
}
