//! Two actions on one interview that are proven to overlap: a test hook
//! holds the first request inside its transaction, after it has read the
//! interview, until the second request's transaction has begun. Without the
//! row lock both would read an open interview and both would win; with it
//! exactly one wins and Lever shows the winner.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use arkiter_lever::lever::sim::SimHandle;
use arkiter_lever::pipeline::hooks::{ActionPoint, Hooks};
use serde_json::json;

use crate::helpers::TestApp;
use crate::lever_flow::{Scenario, point_at, scenario, wait_for_tag};
use crate::one_candidate::{act, settled};

const LINK_TAG: &str = "Arkiter Live: Link Created";
const DONE_TAG: &str = "Arkiter Live: Completed";
const PAIRS: usize = 20;

/// The hook's bookkeeping: per interview, how many action transactions
/// have begun, which one read it first, and whether that one saw the second
/// begin while it was held.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    began: HashMap<String, usize>,
    held: HashSet<String>,
    overlapped: HashSet<String>,
}

impl Gate {
    fn hooks(self: &Arc<Self>) -> Hooks {
        let gate = self.clone();
        Hooks::none().in_action(move |at, id| gate.at(at, id))
    }

    fn at(&self, at: ActionPoint, id: &str) {
        let mut s = self.state.lock().unwrap();
        match at {
            ActionPoint::Began => {
                *s.began.entry(id.to_owned()).or_default() += 1;
                self.changed.notify_all();
            }
            // Only the first reader is held, until the second has begun (or
            // 30 s pass, which the test then reports as no overlap).
            ActionPoint::Read if s.held.insert(id.to_owned()) => {
                let deadline = Instant::now() + Duration::from_secs(30);
                while s.began.get(id).copied().unwrap_or(0) < 2 {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    s = self.changed.wait_timeout(s, left).unwrap().0;
                }
                s.overlapped.insert(id.to_owned());
            }
            ActionPoint::Read => {}
        }
    }

    fn overlapped(&self) -> usize {
        self.state.lock().unwrap().overlapped.len()
    }
}

/// An app with the gate in its hooks, a scenario, and `PAIRS` candidates
/// whose links are posted; their interview ids, by opportunity.
async fn linked(gate: &Arc<Gate>) -> (TestApp, SimHandle, Scenario, Vec<(String, String)>) {
    let sim = crate::lever_support::start_sim().await;
    let app = crate::helpers::spawn_app_with_hooks(|s| point_at(s, &sim), gate.hooks()).await;
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, PAIRS);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    settled(&app).await;
    let mut pairs = Vec::new();
    for opp in opps {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
                Some(&s.key),
            )
            .await;
        let id = r.body["items"][0]["id"].as_str().unwrap().to_owned();
        pairs.push((opp, id));
    }
    (app, sim, s, pairs)
}

#[actix_web::test]
async fn two_completions_at_once_one_wins_and_lever_shows_it() {
    let gate = Arc::new(Gate::default());
    let (app, sim, s, interviews) = linked(&gate).await;
    let mut winners = Vec::new();
    for (opp, id) in &interviews {
        let (a, b) = futures_util::join!(
            act(&app, &s, id, "complete", json!({"score": 11})),
            act(&app, &s, id, "complete", json!({"score": 99})),
        );
        let mut codes = [a.status, b.status];
        codes.sort_unstable();
        assert_eq!(codes, [202, 409], "{} / {}", a.body, b.body);
        winners.push((opp.clone(), if a.status == 202 { 11 } else { 99 }));
    }
    assert_eq!(gate.overlapped(), PAIRS, "every pair overlapped");
    let opps: Vec<String> = interviews.iter().map(|(o, _)| o.clone()).collect();
    wait_for_tag(&sim, &s.account, &opps, DONE_TAG, 60).await;
    settled(&app).await;
    for (opp, score) in winners {
        let view = sim.opportunity(&s.account, &opp).unwrap();
        assert_eq!(view.notes.len(), 1, "{opp}: {:?}", view.notes);
        assert!(
            view.notes[0].value.contains(&format!("Score: {score}/100")),
            "{opp}: the note shows the winner's score {score}: {}",
            view.notes[0].value
        );
        assert_eq!(
            view.links.len(),
            1,
            "{opp}: one results link: {:?}",
            view.links
        );
        assert!(view.links[0].contains("/results/"), "{:?}", view.links);
    }
}

#[actix_web::test]
async fn a_completion_racing_a_cancel_one_wins_and_lever_matches_it() {
    let gate = Arc::new(Gate::default());
    let (app, sim, s, interviews) = linked(&gate).await;
    let mut completed = Vec::new();
    let mut cancelled = Vec::new();
    for (opp, id) in &interviews {
        let (done, cancel) = futures_util::join!(
            act(&app, &s, id, "complete", json!({"score": 50})),
            act(&app, &s, id, "cancel", json!({})),
        );
        let mut codes = [done.status, cancel.status];
        codes.sort_unstable();
        assert_eq!(codes, [202, 409], "{} / {}", done.body, cancel.body);
        match done.status == 202 {
            true => completed.push(opp.clone()),
            false => cancelled.push(opp.clone()),
        }
    }
    assert_eq!(gate.overlapped(), PAIRS, "every pair overlapped");
    wait_for_tag(&sim, &s.account, &completed, DONE_TAG, 60).await;
    settled(&app).await;
    for opp in &completed {
        let view = sim.opportunity(&s.account, opp).unwrap();
        assert_eq!(view.notes.len(), 1, "{opp}: {:?}", view.notes);
        assert_eq!(view.links.len(), 1, "{opp}: {:?}", view.links);
        assert!(view.links[0].contains("/results/"), "{:?}", view.links);
        assert!(view.tags.iter().any(|t| t == DONE_TAG), "{:?}", view.tags);
    }
    for opp in &cancelled {
        let view = sim.opportunity(&s.account, opp).unwrap();
        assert!(view.notes.is_empty(), "{opp}: {:?}", view.notes);
        assert!(view.links.is_empty(), "{opp}: {:?}", view.links);
        assert!(
            !view.tags.iter().any(|t| t.starts_with("Arkiter Live")),
            "{opp}: {:?}",
            view.tags
        );
    }
}

/// Holds a completion, after it has read (and locked) its interview, until
/// a close of the same interview is waiting for that lock in Postgres: the
/// two are proven to overlap. The database is the test's own, known once
/// the app is spawned.
#[derive(Default)]
struct CloseGate {
    db_url: std::sync::OnceLock<String>,
    overlapped: Mutex<HashSet<String>>,
}

impl CloseGate {
    fn hooks(self: &Arc<Self>) -> Hooks {
        let gate = self.clone();
        Hooks::none().in_action(move |at, id| {
            if at == ActionPoint::Read {
                gate.hold_until_a_close_waits(id);
            }
        })
    }

    fn hold_until_a_close_waits(&self, id: &str) {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let Some(url) = self.db_url.get() else {
            return;
        };
        let mut c = PgConnection::establish(url).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let w: Waiting = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE \"interviews\"%cancelled%'",
            )
            .get_result(&mut c)
            .unwrap();
            if w.n > 0 {
                self.overlapped.lock().unwrap().insert(id.to_owned());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[actix_web::test]
async fn a_completion_racing_a_close_wins_and_lever_matches_it() {
    let gate = Arc::new(CloseGate::default());
    let sim = crate::lever_support::start_sim().await;
    let app = crate::helpers::spawn_app_with_hooks(|s| point_at(s, &sim), gate.hooks()).await;
    gate.db_url.set(app.db_url.clone()).unwrap();
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, PAIRS);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    settled(&app).await;
    for opp in &opps {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
                Some(&s.key),
            )
            .await;
        let id = r.body["items"][0]["id"].as_str().unwrap().to_owned();
        // The archive goes out once the completion is under way; its close
        // then waits for the completion's row lock, which the gate holds
        // until Postgres shows the close waiting.
        let (done, ()) = futures_util::join!(
            act(&app, &s, &id, "complete", json!({"score": 70})),
            async {
                crate::helpers::poll_until(30, "the completion under way", || async {
                (app.count(&format!(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'idle in transaction' \
                     AND datname = '{}'",
                    app.db_name
                )) > 0)
                    .then_some(())
            })
            .await;
                sim.archive(&s.account, opp, Some("archive-underqualified"))
                    .unwrap();
            }
        );
        assert_eq!(done.status, 202, "{}", done.body);
    }
    assert_eq!(
        gate.overlapped.lock().unwrap().len(),
        PAIRS,
        "every completion overlapped a close"
    );
    wait_for_tag(&sim, &s.account, &opps, DONE_TAG, 60).await;
    settled(&app).await;
    // The completion committed first, so no close took effect: never
    // closed, no closed tag, the results as for any completion.
    for opp in &opps {
        let view = sim.opportunity(&s.account, opp).unwrap();
        assert_eq!(view.notes.len(), 1, "{opp}: {:?}", view.notes);
        assert_eq!(view.links.len(), 1, "{opp}: {:?}", view.links);
        assert!(view.links[0].contains("/results/"), "{:?}", view.links);
        assert!(
            !view.tags.iter().any(|t| t == "Arkiter Live: Closed"),
            "{opp}: {:?}",
            view.tags
        );
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM interviews WHERE close_reason IS NOT NULL"),
        0
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM interviews WHERE status = 'results_posted'"),
        PAIRS as i64
    );
}
