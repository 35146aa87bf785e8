//! P5: one move on an idle account, from the webhook received to the link
//! and tag visible in the simulator: p50 < 15 ms, p95 < 40 ms.
//!
//! Four connected accounts take turns, one move every 100 ms, so each
//! account is idle (its rate budget full) when its candidate moves. Two
//! figures per move:
//! - received → visible: the delivery's `received_at` (its transaction start,
//!   stamped by Postgres) to the simulator's answer to `addTags` (the link is
//!   added before the tag). This is the target's definition.
//! - move → visible: from the recruiter's move in the simulator (before the
//!   simulator even sends the webhook) until a watcher thread polling every
//!   100 µs sees both link and tag. An upper bound of the first.
//!
//! Run: `cargo bench --bench p5_latency` (about 40 s after the build).

mod common;

use std::time::{Duration, Instant};

use common::org::{count_calls, linked};
use common::{Bed, BedOptions, Org, Samples, Verdicts};

const ACCOUNTS: usize = 4;
const WARMUP: usize = 2;
const SAMPLES: usize = 200;
const GAP: Duration = Duration::from_millis(100);

fn main() {
    common::header("P5 idle-account latency");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let bed = Bed::start(BedOptions::default()).await;
    let mut orgs = Vec::new();
    for i in 0..ACCOUNTS {
        orgs.push(Org::connect(&bed.api, &bed.sim, &format!("P5 org {i}")).await);
    }
    let opps: Vec<Vec<String>> = orgs
        .iter()
        .map(|o| o.candidates(&bed.sim, WARMUP + SAMPLES / ACCOUNTS))
        .collect();
    // Warm up: the posting title cache, pooled connections, the limiter.
    for (o, ids) in orgs.iter().zip(&opps) {
        for opp in &ids[..WARMUP] {
            let t = Instant::now();
            o.move_in(&bed.sim, std::slice::from_ref(opp));
            watch(&bed, o, opp, t).await.expect("warm-up move linked");
        }
    }
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let mut moved = Vec::new();
    let mut end_to_end = Samples::default();
    for i in 0..SAMPLES {
        let (o, opp) = (
            &orgs[i % ACCOUNTS],
            &opps[i % ACCOUNTS][WARMUP + i / ACCOUNTS],
        );
        let t = Instant::now();
        o.move_in(&bed.sim, std::slice::from_ref(opp));
        match watch(&bed, o, opp, t).await {
            Some(d) => end_to_end.push(d),
            None => println!("move {i}: not linked within 10 s"),
        }
        moved.push((o.account.clone(), opp.clone()));
        actix_web::rt::time::sleep(GAP).await;
    }
    let received = received_to_visible(&bed, &moved);
    report(&bed, &orgs, &received, &end_to_end)
}

/// Polls the simulator from a thread of its own until the link and the tag show.
async fn watch(bed: &Bed, org: &Org, opp: &str, since: Instant) -> Option<Duration> {
    let (sim, account, opp) = (bed.sim.clone(), org.account.clone(), opp.to_owned());
    actix_web::rt::task::spawn_blocking(move || {
        while since.elapsed() < Duration::from_secs(10) {
            if linked(&sim, &account, &opp) {
                return Some(since.elapsed());
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        None
    })
    .await
    .expect("watcher thread")
}

/// `received_at` of each move's delivery → the simulator's `addTags` answer.
fn received_to_visible(bed: &Bed, moved: &[(String, String)]) -> Samples {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        opp: String,
        #[diesel(sql_type = diesel::sql_types::Double)]
        at_ms: f64,
    }
    use diesel::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT opportunity_id AS opp, extract(epoch FROM received_at)::float8 * 1000 AS at_ms \
         FROM lever_events WHERE opportunity_id IS NOT NULL",
    )
    .load(&mut bed.db())
    .expect("received_at");
    let received: std::collections::HashMap<String, f64> =
        rows.into_iter().map(|r| (r.opp, r.at_ms)).collect();
    let mut out = Samples::default();
    for (account, opp) in moved {
        let tagged =
            bed.sim.calls_for(account).into_iter().find(|c| {
                c.status / 100 == 2 && c.path == format!("/v1/opportunities/{opp}/addTags")
            });
        if let (Some(r), Some(c)) = (received.get(opp), tagged) {
            let d = (c.at_ms as f64 - r).max(0.0);
            out.push(Duration::from_secs_f64(d / 1000.0));
        }
    }
    out
}

fn report(bed: &Bed, orgs: &[Org], received: &Samples, end_to_end: &Samples) -> bool {
    println!(
        "received -> visible (target's definition): {}",
        received.summary()
    );
    println!(
        "move -> visible (incl. simulator delivery): {}",
        end_to_end.summary()
    );
    let calls: usize = orgs
        .iter()
        .map(|o| {
            bed.sim
                .calls_for(&o.account)
                .iter()
                .filter(|c| c.status == 429)
                .count()
        })
        .sum();
    let links: usize = orgs
        .iter()
        .map(|o| count_calls(&bed.sim, &o.account, "/addLinks"))
        .sum();
    println!(
        "addLinks calls: {links} for {} moves; 429s: {calls}",
        SAMPLES + ACCOUNTS * WARMUP
    );
    let mut v = Verdicts::default();
    let n_ok = received.len() == SAMPLES && end_to_end.len() == SAMPLES;
    v.check(
        "P5",
        "moves linked",
        format!("{}/{SAMPLES}", end_to_end.len()),
        format!("{SAMPLES}"),
        n_ok,
    );
    let (p50, p95) = (received.percentile(50.0), received.percentile(95.0));
    v.check(
        "P5",
        "p50 received->visible",
        format!("{:.2} ms", common::stats::ms(p50)),
        "< 15 ms".into(),
        n_ok && p50 < Duration::from_millis(15),
    );
    v.check(
        "P5",
        "p95 received->visible",
        format!("{:.2} ms", common::stats::ms(p95)),
        "< 40 ms".into(),
        n_ok && p95 < Duration::from_millis(40),
    );
    v.finish("p5_latency")
}
