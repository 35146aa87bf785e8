//! P2 and P3, side by side in one run.
//!
//! P2: 1,000 candidates of account A moved into the stage at once, at the
//! default limits (our bucket: `LEVER_RATE_PER_SEC` 10, `LEVER_BURST` 15; the
//! simulator's Lever bucket: 10/s, capacity 20). Targets: every candidate
//! linked within 1.05 × ((calls − 15) ÷ 10) s of the move, where calls is
//! every Lever call A made; ≤ 3.05 calls per interview; zero 429s.
//!
//! P3: meanwhile account B moves one candidate every 2 s; B's stage change →
//! link and tag visible p99 < 500 ms.
//!
//! Sweep: 10 s into the drain, a sweep of account A is asked for
//! (`POST .../lever/sweep`). It yields to the drain, so the drain's time over
//! the ideal of its own hot-path calls (the sweep's list and webhook calls
//! left out) must stay ≤ 1.07.
//!
//! Run: `cargo bench --bench p2_drain` (about 5.5 minutes: the drain is
//! paced by Lever's 10 calls/s).

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use arkiter_lever::lever::sim::{CallRecord, SimConfig, SimHandle};
use common::org::linked;
use common::stats::ms;
use common::{Bed, BedOptions, Org, Samples, Verdicts};

const CANDIDATES: usize = 1_000;
const BURST: f64 = 15.0;
const RATE: f64 = 10.0;
const B_EVERY: Duration = Duration::from_secs(2);

fn main() {
    common::header("P2 drain + P3 isolation");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let bed = Bed::start(BedOptions {
        sim: SimConfig {
            delivery_retry_base: Duration::from_millis(500),
            ..SimConfig::default()
        },
        ..BedOptions::default()
    })
    .await;
    let a = Org::connect(&bed.api, &bed.sim, "P2 org A").await;
    let b = Org::connect(&bed.api, &bed.sim, "P3 org B").await;
    let a_opps = a.candidates(&bed.sim, CANDIDATES);
    let b_opps = b.candidates(&bed.sim, 400);
    // Let both buckets (ours and the simulator's) fill after connecting.
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    bed.sim.clear_call_log();
    let b_lat = Rc::new(RefCell::new(Samples::default()));
    let stop = Rc::new(RefCell::new(false));
    let b_task = actix_web::rt::spawn(b_mover(
        bed.sim.clone(),
        b.account.clone(),
        b_opps,
        b,
        b_lat.clone(),
        stop.clone(),
    ));
    let t0_ms = chrono::Utc::now().timestamp_millis();
    let t0 = Instant::now();
    a.move_in(&bed.sim, &a_opps);
    let sweep_task =
        actix_web::rt::spawn(ask_for_sweep(bed.api.clone(), a.org.clone(), a.key.clone()));
    let drained = wait_drained(&bed.sim, &a.account, t0).await;
    let _ = sweep_task.await;
    *stop.borrow_mut() = true;
    let _ = b_task.await;
    let samples = b_lat.borrow().clone();
    report(&bed, &a, &a_opps, t0_ms, drained, &samples)
}

/// Asks for a sweep of A 10 s into its drain.
async fn ask_for_sweep(api: common::bed::Api, org: String, key: String) {
    actix_web::rt::time::sleep(Duration::from_secs(10)).await;
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/orgs/{org}/lever/sweep"),
            Some(&key),
            None,
        )
        .await;
    println!("sweep of A asked for 10 s into the drain: {status} {body}");
}

/// Whether a call was the sweep's (its stage listing or webhook check).
fn is_sweep_call(c: &CallRecord) -> bool {
    c.method == "GET" && (c.path == "/v1/opportunities" || c.path == "/v1/webhooks")
}

/// Moves one of B's candidates every 2 s and times each to "linked".
async fn b_mover(
    sim: SimHandle,
    account: String,
    opps: Vec<String>,
    org: Org,
    out: Rc<RefCell<Samples>>,
    stop: Rc<RefCell<bool>>,
) {
    let mut watchers = Vec::new();
    for opp in opps {
        if *stop.borrow() {
            break;
        }
        let t = Instant::now();
        org.move_in(&sim, std::slice::from_ref(&opp));
        let (sim, account, out) = (sim.clone(), account.clone(), out.clone());
        watchers.push(actix_web::rt::spawn(async move {
            let d = actix_web::rt::task::spawn_blocking(move || watch(&sim, &account, &opp, t))
                .await
                .expect("watcher");
            out.borrow_mut().push(d);
        }));
        actix_web::rt::time::sleep(B_EVERY).await;
    }
    for w in watchers {
        let _ = w.await;
    }
}

/// Polls every millisecond; gives up (recording the wait) after 30 s.
fn watch(sim: &SimHandle, account: &str, opp: &str, since: Instant) -> Duration {
    while since.elapsed() < Duration::from_secs(30) && !linked(sim, account, opp) {
        std::thread::sleep(Duration::from_millis(1));
    }
    since.elapsed()
}

/// Waits until A has 1,000 successful `addTags`; false after twice the bound.
async fn wait_drained(sim: &SimHandle, account: &str, t0: Instant) -> bool {
    let limit = Duration::from_secs_f64(2.0 * (3.0 * CANDIDATES as f64) / RATE);
    let mut last_print = Instant::now();
    while t0.elapsed() < limit {
        let tagged = tags(&sim.calls_for(account));
        if tagged >= CANDIDATES {
            return true;
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            println!("  {:>4.0} s: {tagged} linked", t0.elapsed().as_secs_f64());
            last_print = Instant::now();
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

fn tags(calls: &[CallRecord]) -> usize {
    calls
        .iter()
        .filter(|c| c.status / 100 == 2 && c.path.ends_with("/addTags"))
        .count()
}

fn report(bed: &Bed, a: &Org, opps: &[String], t0_ms: i64, drained: bool, b_lat: &Samples) -> bool {
    let calls = bed.sim.calls_for(&a.account);
    let all_calls = bed.sim.call_log();
    let last_tag = calls
        .iter()
        .filter(|c| c.status / 100 == 2 && c.path.ends_with("/addTags"))
        .map(|c| c.at_ms)
        .max()
        .unwrap_or(t0_ms);
    let elapsed = (last_tag - t0_ms) as f64 / 1000.0;
    let n = calls.len() as f64;
    let bound = 1.05 * ((n - BURST) / RATE);
    let per = n / CANDIDATES as f64;
    let throttled = all_calls.iter().filter(|c| c.status == 429).count();
    let visible = opps.iter().filter(|o| a.linked(&bed.sim, o)).count();
    let ideal = (n - BURST) / RATE;
    println!(
        "A: {CANDIDATES} moved, {visible} linked; {n} Lever calls; last link at {elapsed:.2} s; \
         ideal (calls-15)/10 = {ideal:.2} s; ratio elapsed/ideal = {:.4}",
        elapsed / ideal
    );
    for what in ["/addLinks", "/addTags", "?expand", "/postings/"] {
        let k = calls
            .iter()
            .filter(|c| c.path.contains(what) || c.query.contains(&what[1..]))
            .count();
        println!("  calls matching {what}: {k}");
    }
    println!(
        "B (one move every 2 s during A's drain): {}",
        b_lat.summary()
    );
    let mut v = Verdicts::default();
    let ok = drained && visible == CANDIDATES;
    v.check(
        "P2",
        "all linked",
        format!("{visible}/{CANDIDATES}"),
        format!("{CANDIDATES}"),
        ok,
    );
    v.check(
        "P2",
        "drain time",
        format!("{elapsed:.2} s"),
        format!("<= {bound:.2} s = 1.05 x ({n} - 15) / 10"),
        ok && elapsed <= bound,
    );
    let sweep_calls = calls.iter().filter(|c| is_sweep_call(c)).count() as f64;
    let hot_ideal = (n - sweep_calls - BURST) / RATE;
    let swept_after = calls
        .iter()
        .filter(|c| is_sweep_call(c))
        .map(|c| (c.at_ms - t0_ms) as f64 / 1000.0)
        .fold(f64::NAN, f64::max);
    println!(
        "sweep: {sweep_calls} calls, the last at {swept_after:.2} s; drain/ideal of the hot path alone = {:.4}",
        elapsed / hot_ideal
    );
    v.check(
        "P2+sweep",
        "drain time / hot-path ideal",
        format!("{:.4}", elapsed / hot_ideal),
        "<= 1.07".into(),
        ok && sweep_calls >= 1.0 && elapsed / hot_ideal <= 1.07,
    );
    v.check(
        "P2",
        "calls per interview",
        format!("{per:.4}"),
        "<= 3.05".into(),
        ok && per <= 3.05,
    );
    v.check(
        "P2",
        "429s (all accounts)",
        format!("{throttled}"),
        "0".into(),
        throttled == 0,
    );
    let p99 = b_lat.percentile(99.0);
    v.check(
        "P3",
        "B stage change -> link p99",
        format!("{:.2} ms over {} moves", ms(p99), b_lat.len()),
        "< 500 ms".into(),
        b_lat.len() >= 10 && p99 < Duration::from_millis(500),
    );
    v.finish("p2_drain")
}
