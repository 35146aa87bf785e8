//! P2c: results where recruiters decide, at Lever's pace.
//!
//! 300 candidates of one account are moved into the stage at once; each is
//! completed (score 85) as soon as its link is posted. The connection
//! writes every result kind (`note`, `feedback`, `pdf`, with `perform_as`),
//! and the role has `pass_score` 70 and an `on_pass_stage`, so every
//! candidate also gets the passed tag and moves to the next stage. Default
//! limits (our bucket 10/s, burst 15; the simulator's Lever bucket 10/s,
//! capacity 20).
//!
//! Targets:
//! - Lever calls per candidate ≤ 13.05: link 3 (read, links, tags); a
//!   completion 5 (read, results link on, live link off, completed and
//!   passed tags in one call, link tag off); the note 1; the feedback form
//!   1; the file 1; the pass move 2 (read, `PUT .../stage`); the feedback
//!   template once for the account;
//! - wall / floor ≤ 1.05, the floor being (calls − 15) ÷ 10 s, from the
//!   move to the last call;
//! - zero 429s; every candidate's results, file, form and move on Lever.
//!
//! Run: `cargo bench --bench p2c_results` (about 7 minutes: about 3,900
//! calls at Lever's 10 a second).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Bed, BedOptions, Org, Verdicts};
use serde_json::json;

const CANDIDATES: usize = 300;
const BURST: f64 = 15.0;
const RATE: f64 = 10.0;

fn main() {
    common::header("P2c: every result kind, 300 candidates");
    common::exit(common::run(bench));
}

async fn bench() -> bool {
    let bed = Bed::start(BedOptions::default()).await;
    let a = Org::connect(&bed.api, &bed.sim, "P2c org").await;
    let onsite = bed.sim.add_stage(&a.account, "Onsite").expect("stage").id;
    let user = bed
        .sim
        .add_user(&a.account, "Arkiter Bot", "bot@example.com")
        .expect("user")
        .id;
    let (status, body) = bed
        .api
        .call(
            "PATCH",
            &format!("/api/v1/orgs/{}/lever", a.org),
            Some(&a.key),
            Some(&json!({"results": {"note": true, "feedback": true, "pdf": true}, "perform_as": user})),
        )
        .await;
    assert_eq!(status, 200, "results: {body}");
    let (_, roles) = bed
        .api
        .call(
            "GET",
            &format!("/api/v1/orgs/{}/roles", a.org),
            Some(&a.key),
            None,
        )
        .await;
    let role = roles["items"][0]["id"].as_str().expect("role").to_owned();
    let (status, body) = bed
        .api
        .call(
            "PATCH",
            &format!("/api/v1/orgs/{}/roles/{role}", a.org),
            Some(&a.key),
            Some(&json!({"pass_score": 70, "on_pass_stage": {"id": onsite}})),
        )
        .await;
    assert_eq!(status, 200, "role: {body}");
    let opps = a.candidates(&bed.sim, CANDIDATES);
    // Let both buckets (ours and the simulator's) fill after connecting.
    actix_web::rt::time::sleep(Duration::from_secs(3)).await;
    bed.sim.clear_call_log();
    let t0_ms = chrono::Utc::now().timestamp_millis();
    let t0 = Instant::now();
    a.move_in(&bed.sim, &opps);
    let done = complete_as_linked(&bed, &a, t0).await;
    report(&bed, &a, &opps, &onsite, t0_ms, done)
}

/// Completes each interview as soon as its link is posted (as the platform
/// would when the candidate finishes); true once every one is
/// `results_posted` and moved, false after three times the floor.
async fn complete_as_linked(bed: &Bed, a: &Org, t0: Instant) -> bool {
    let limit = Duration::from_secs_f64(3.0 * 13.0 * CANDIDATES as f64 / RATE);
    let mut completed: HashSet<String> = HashSet::new();
    let mut last_print = Instant::now();
    while t0.elapsed() < limit {
        let linked = bed.count(
            "SELECT count(*) AS n FROM interviews i JOIN interview_outcomes o ON o.interview_id = i.id \
             WHERE i.status = 'results_posted' AND o.stage_move IS NOT NULL",
        );
        if linked as usize >= CANDIDATES {
            return true;
        }
        let ready = common::bed::strings(
            &mut bed.db(),
            "SELECT id::text AS s FROM interviews WHERE status = 'link_posted'",
        );
        let fresh: Vec<String> = ready
            .into_iter()
            .filter(|id| !completed.contains(id))
            .collect();
        for id in fresh {
            let (status, body) = bed
                .api
                .call(
                    "POST",
                    &format!("/api/v1/orgs/{}/interviews/{id}/complete", a.org),
                    Some(&a.key),
                    Some(&json!({"score": 85, "recommendation": "Hire", "summary": "Solid design, tested code, clear trade-offs."})),
                )
                .await;
            assert_eq!(status, 202, "complete: {body}");
            completed.insert(id);
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            println!(
                "  {:>4.0} s: {} completed, {linked} with every result on Lever",
                t0.elapsed().as_secs_f64(),
                completed.len()
            );
            last_print = Instant::now();
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

fn report(bed: &Bed, a: &Org, opps: &[String], onsite: &str, t0_ms: i64, done: bool) -> bool {
    let calls = bed.sim.calls_for(&a.account);
    let n = calls.len() as f64;
    let last = calls.iter().map(|c| c.at_ms).max().unwrap_or(t0_ms);
    let wall = (last - t0_ms) as f64 / 1000.0;
    let floor = (n - BURST) / RATE;
    let per = n / CANDIDATES as f64;
    let throttled = bed
        .sim
        .call_log()
        .iter()
        .filter(|c| c.status == 429)
        .count();
    let complete = opps
        .iter()
        .filter(|o| {
            let v = bed.sim.opportunity(&a.account, o).expect("opportunity");
            let files = bed.sim.files(&a.account, o).expect("files").len();
            let forms = bed.sim.feedback(&a.account, o).expect("feedback").len();
            v.stage == onsite
                && v.notes.len() == 1
                && files == 1
                && forms == 1
                && v.tags.iter().any(|t| t == "Arkiter Live: Passed")
        })
        .count();
    println!(
        "{CANDIDATES} candidates: {complete} with note, form, file, passed tag and move; \
         {n} Lever calls ({per:.4} per candidate); last call at {wall:.2} s; \
         floor (calls-15)/10 = {floor:.2} s; wall/floor = {:.4}",
        wall / floor
    );
    let mut by_kind: Vec<(String, usize)> = Vec::new();
    for c in &calls {
        let path: Vec<&str> = c.path.split('/').collect();
        let kind = match path.as_slice() {
            [_, _, "opportunities", _, action] => format!("{} {action}", c.method),
            [_, _, "opportunities", _] => format!("{} opportunity", c.method),
            [_, _, what, ..] => format!("{} {what}", c.method),
            _ => c.path.clone(),
        };
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => by_kind.push((kind, 1)),
        }
    }
    for (kind, k) in &by_kind {
        println!(
            "  {kind:<28} {k:>6}  ({:.3} per candidate)",
            *k as f64 / CANDIDATES as f64
        );
    }
    let mut v = Verdicts::default();
    let ok = done && complete == CANDIDATES;
    v.check(
        "P2c",
        "every result on Lever",
        format!("{complete}/{CANDIDATES}"),
        format!("{CANDIDATES}"),
        ok,
    );
    v.check(
        "P2c",
        "calls per candidate",
        format!("{per:.4}"),
        "<= 13.05".into(),
        ok && per <= 13.05,
    );
    v.check(
        "P2c",
        "wall / floor",
        format!("{:.4}", wall / floor),
        "<= 1.05".into(),
        ok && wall / floor <= 1.05,
    );
    v.check(
        "P2c",
        "429s",
        format!("{throttled}"),
        "0".into(),
        throttled == 0,
    );
    v.finish("p2c_results")
}
