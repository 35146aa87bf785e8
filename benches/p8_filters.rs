//! P8: every filter of the events list at 10 million rows (issue 28).
//!
//! 1. The service and one org connected through the simulator, on the
//!    temporary cluster.
//! 2. The inbox filled (secondary indexes dropped for the fill and built
//!    again after it, as the migrations define them) with the mix the issue
//!    names: 100 orgs (the measured one holds 1 row in 100); 90 % `ignored`
//!    (`other_stage`, 1 in 50 of them `left_stage`, 1 in 10,000
//!    `test_ping`), 9 % `done`, 1 % `dead`; 5 % from sweeps; received over
//!    the last 30 days.
//! 3. As the org's admin, the first page (50) of `GET /events` with each
//!    filter alone and a few together, 20 requests each after 3 warm-ups.
//!
//! Target: every filter's p95 < 50 ms.
//!
//! Run: `cargo bench --bench p8_filters` (the fill takes a few minutes;
//! `P8_ROWS=1000000` for a quicker look).

mod common;

use std::time::{Duration, Instant};

use common::bed::{count, exec};
use common::fill::rebuilding_indexes;
use common::stats::ms;
use common::{Bed, BedOptions, Hook, Samples, Verdicts};
use diesel::PgConnection;
use serde_json::Value;

const DEFAULT_ROWS: i64 = 10_000_000;
const CHUNK: i64 = 1_000_000;
const WARMUP: usize = 3;
const SAMPLES: usize = 20;

fn main() {
    common::header("P8 events filters at 10 million rows");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let rows: i64 = common::env_or("P8_ROWS", DEFAULT_ROWS);
    let bed = Bed::start(BedOptions::default()).await;
    let hook = Hook::connect(&bed, "Filter org").await;
    let mut conn = bed.db();
    let started = Instant::now();
    rebuilding_indexes(&mut conn, "lever_events", |c| fill(c, &hook, rows));
    println!(
        "fill: {rows} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mine = count(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM lever_events WHERE org_id = '{}'",
            hook.org.org
        ),
    );
    println!("the measured org holds {mine} rows");
    let day = |d: i64| {
        (chrono::Utc::now() - chrono::Duration::days(d))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .replace('+', "%2B")
    };
    let opp = format!("fill-opp-{}", rows / 2 / 100 * 100);
    let filters = [
        "".to_owned(),
        "status=ignored".to_owned(),
        "status=done".to_owned(),
        "status=dead".to_owned(),
        "status=pending".to_owned(),
        "status=retrying".to_owned(),
        "source=webhook".to_owned(),
        "source=sweep".to_owned(),
        "reason=other_stage".to_owned(),
        "reason=left_stage".to_owned(),
        "reason=test_ping".to_owned(),
        format!("since={}", day(7)),
        format!("until={}", day(20)),
        format!("since={}&until={}", day(11), day(10)),
        format!("opportunity_id={opp}"),
        "status=dead&source=sweep".to_owned(),
        format!("status=ignored&reason=left_stage&since={}", day(3)),
    ];
    let list = format!("/api/v1/orgs/{}/events?limit=50", hook.org.org);
    let mut v = Verdicts::default();
    for f in &filters {
        let path = if f.is_empty() {
            list.clone()
        } else {
            format!("{list}&{f}")
        };
        let (s, n) = times(&bed, &hook, &path).await;
        let name = if f.is_empty() { "(none)" } else { f.as_str() };
        println!("{name:<60} {n:>3} rows  {}", s.summary());
        let p95 = s.percentile(95.0);
        v.check(
            "P8",
            &format!("{name} p95"),
            format!("{:.2} ms", ms(p95)),
            "< 50 ms".to_owned(),
            p95 < Duration::from_millis(50),
        );
    }
    v.finish("p8_filters")
}

/// The mix of the module docs, through `generate_series`.
fn fill(conn: &mut PgConnection, hook: &Hook, rows: i64) {
    let (org, connection) = (&hook.org.org, hook.connection_id());
    let started = Instant::now();
    let mut from = 1;
    while from <= rows {
        let to = (from + CHUNK - 1).min(rows);
        exec(
            conn,
            &format!(
                "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
                   opportunity_id, to_stage_id, from_stage_id, payload, status, reason, attempts, \
                   received_at, updated_at, next_attempt_at, source) \
                 SELECT (lpad(to_hex(1764000000000 + i), 12, '0') || '7000' || '8000' \
                         || lpad(to_hex(i), 12, '0'))::uuid, \
                   CASE WHEN i % 100 = 0 THEN '{connection}'::uuid \
                        ELSE ('00000000-0000-4000-8000-' || lpad((i % 100)::text, 12, '0'))::uuid END, \
                   CASE WHEN i % 100 = 0 THEN '{org}'::uuid \
                        ELSE ('00000000-0000-4000-9000-' || lpad((i % 100)::text, 12, '0'))::uuid END, \
                   'candidateStageChange', 'fill-' || i, 1764000000000 + i, 'fill-opp-' || i, \
                   'fill-stage', 'fill-start', '{{\"fill\":' || i || '}}', \
                   CASE WHEN m.k < 90 THEN 'ignored' WHEN m.k < 99 THEN 'done' ELSE 'dead' END, \
                   CASE WHEN m.k >= 90 THEN NULL \
                        WHEN (i / 100) % 10000 = 7 THEN 'test_ping' \
                        WHEN (i / 100) % 50 = 3 THEN 'left_stage' ELSE 'other_stage' END, \
                   1, m.at, m.at, m.at, \
                   CASE WHEN (i / 100) % 20 = 11 THEN 'sweep' ELSE 'webhook' END \
                 FROM generate_series({from}, {to}) i, LATERAL (SELECT \
                   ((i / 100) * 7919) % 100 AS k, \
                   now() - ({rows} - i) * (interval '30 days' / {rows}) AS at) m"
            ),
        );
        println!(
            "  filled {to} rows ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
}

/// Times `path` [`SAMPLES`] times after [`WARMUP`] requests; the samples
/// and how many rows the page held.
async fn times(bed: &Bed, hook: &Hook, path: &str) -> (Samples, usize) {
    let mut samples = Samples::default();
    let mut rows = 0;
    for i in 0..WARMUP + SAMPLES {
        let t = Instant::now();
        let (status, body): (u16, Value) =
            bed.api.call("GET", path, Some(&hook.org.key), None).await;
        let took = t.elapsed();
        assert_eq!(status, 200, "{path}: {body}");
        rows = body["items"].as_array().map_or(0, Vec::len);
        if i >= WARMUP {
            samples.push(took);
        }
    }
    (samples, rows)
}
