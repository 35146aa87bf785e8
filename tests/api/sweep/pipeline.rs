//! The sweep run by the account's supervisor: on demand and
//! periodically, candidates Lever never delivered get their link, with
//! `source: sweep`; one that a delivery also brings gets one link and tag.

use arkiter_lever::lever::sim::SimHandle;
use serde_json::{Value, json};

use crate::helpers::{TestApp, poll_until, spawn_app_with};
use crate::lever_flow::{Scenario, point_at, scenario, wait_for_tag};
use crate::lever_support::start_sim;

const LINK_TAG: &str = "Arkiter Live: Link Created";

async fn sources(app: &TestApp, s: &Scenario) -> Vec<Value> {
    let r = app.list_events(&s.org, "", Some(&s.key)).await;
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// A connected org whose periodic sweep runs every `interval` (`None`: off).
async fn connected(interval: Option<std::time::Duration>) -> (TestApp, SimHandle, Scenario) {
    let sim = start_sim().await;
    let app = spawn_app_with(|set| {
        point_at(set, &sim);
        set.sweep_interval = interval;
    })
    .await;
    let s = scenario(&app, &sim).await;
    (app, sim, s)
}

/// Asks for a sweep now, as an admin would.
/// Asks for a sweep of the scenario's connection (`POST .../lever/sweep`).
pub async fn sweep_now(app: &TestApp, s: &Scenario) {
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/lever/sweep", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

/// Runs a sweep now and waits until it is over (its last call, the webhook
/// check, made) and everything it found is worked; the call log is cleared
/// first, so it holds the sweep's calls and its findings' only.
pub async fn sweep_and_settle(app: &TestApp, sim: &SimHandle, s: &Scenario) {
    sim.clear_call_log();
    sweep_now(app, s).await;
    poll_until(30, "the sweep", || async {
        sim.calls_for(&s.account)
            .iter()
            .any(|c| c.path == "/v1/webhooks")
            .then_some(())
    })
    .await;
    crate::one_candidate::settled(app).await;
}

fn post_writes(sim: &SimHandle, s: &Scenario, opp: &str, suffix: &str) -> usize {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method == "POST" && c.path.contains(opp) && c.path.ends_with(suffix))
        .filter(|c| c.status / 100 == 2)
        .count()
}

#[actix_web::test]
async fn candidates_lever_never_delivered_are_linked_after_a_sweep_now() {
    let (app, sim, s) = connected(None).await;
    // The sweep after connecting ran (nothing to find yet).
    poll_until(30, "the first sweep", || async {
        let h = app
            .get(
                &format!("/api/v1/orgs/{}/lever/health", s.org),
                Some(&s.key),
            )
            .await;
        (!h.body["sweep"]["last_at"].is_null()).then_some(())
    })
    .await;
    let opps = s.candidates(&sim, 3);
    sim.move_without_delivery(&s.account, &opps, &s.stage)
        .unwrap();
    sweep_now(&app, &s).await;
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    let events = sources(&app, &s).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(|e| e["source"] == "sweep"), "{events:?}");
    for opp in &opps {
        assert_eq!(post_writes(&sim, &s, opp, "/addLinks"), 1);
    }
    // The sweep records its figures when it ends, after its webhook check:
    // the links may be posted before that.
    poll_until(30, "the sweep's figures", || async {
        let h = app
            .get(
                &format!("/api/v1/orgs/{}/lever/health", s.org),
                Some(&s.key),
            )
            .await;
        (h.body["sweep"]["found_total"] == 3).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn a_periodic_sweep_finds_them_without_being_asked() {
    let (app, sim, s) = connected(Some(std::time::Duration::from_secs(1))).await;
    let opps = s.candidates(&sim, 2);
    sim.move_without_delivery(&s.account, &opps, &s.stage)
        .unwrap();
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    let events = sources(&app, &s).await;
    assert!(events.iter().all(|e| e["source"] == "sweep"), "{events:?}");
}

#[actix_web::test]
async fn a_delivery_during_the_sweep_of_the_same_candidate_makes_one_link() {
    let (app, sim, s) = connected(None).await;
    let opps = s.candidates(&sim, 4);
    // Moved for real (delivered), and a sweep asked for at the same moment.
    s.move_to(&sim, &opps, &s.stage);
    sweep_now(&app, &s).await;
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    poll_until(30, "the sweep ran", || async {
        let n = app.count("SELECT count(*) AS n FROM connection_sweeps WHERE requested_at IS NULL AND started_at IS NULL AND last_at IS NOT NULL");
        (n == 1).then_some(())
    })
    .await;
    poll_until(30, "all settled", || async {
        let n = app.count(
            "SELECT count(*) AS n FROM lever_events WHERE status IN ('pending', 'retrying')",
        );
        (n == 0).then_some(())
    })
    .await;
    for opp in &opps {
        assert_eq!(post_writes(&sim, &s, opp, "/addLinks"), 1, "{opp}");
        assert_eq!(post_writes(&sim, &s, opp, "/addTags"), 1, "{opp}");
        assert_eq!(s.live_link_count(&sim, opp), 1);
    }
    let interviews = app.count("SELECT count(*) AS n FROM interviews");
    assert_eq!(interviews, 4);
}

#[actix_web::test]
async fn lever_s_late_delivery_of_a_swept_and_completed_entry_makes_no_second_interview() {
    let (app, sim, s) = connected(None).await;
    let opp = s.candidates(&sim, 1);
    sim.move_without_delivery(&s.account, &opp, &s.stage)
        .unwrap();
    // Lever stamps its delivery a little after the move itself.
    let moved_at = chrono::Utc::now().timestamp_millis() + 5;
    sweep_now(&app, &s).await;
    wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    crate::one_candidate::settled(&app).await;
    let iv = app
        .get(&format!("/api/v1/orgs/{}/interviews", s.org), Some(&s.key))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = crate::one_candidate::act(&app, &s, &iv, "complete", json!({"score": 60})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_for_tag(&sim, &s.account, &opp, "Arkiter Live: Completed", 30).await;
    crate::one_candidate::settled(&app).await;
    // Lever's own delivery of that move, late (its retries span hours).
    let (conn, body) = crate::one_candidate::delivery(&sim, &s, &opp[0], &"l".repeat(48), moved_at);
    let r = app
        .post_json(&format!("/webhooks/lever/{conn}"), None, &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    crate::one_candidate::settled(&app).await;
    assert_eq!(app.count("SELECT count(*) AS n FROM interviews"), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM lever_events WHERE status = 'done'"),
        2
    );
    assert_eq!(
        post_writes(&sim, &s, &opp[0], "/addLinks"),
        2,
        "live, then results"
    );
    assert_eq!(post_writes(&sim, &s, &opp[0], "/notes"), 1);
}

#[actix_web::test]
async fn a_repaired_webhook_whose_token_failed_to_store_is_replaced_and_signs_for_us() {
    use diesel::RunQueryDsl;
    let (app, sim, s) = connected(None).await;
    poll_until(30, "the first sweep", || async {
        let n = app.count("SELECT count(*) AS n FROM connection_sweeps WHERE last_at IS NOT NULL");
        (n == 1).then_some(())
    })
    .await;
    let ours = sim.webhooks(&s.account).unwrap();
    assert_eq!(ours.len(), 4, "one per event: {ours:?}");
    let url = ours[0].url.clone();
    // The first store of a repaired webhook's token fails (once).
    let mut c = app.db();
    for sql in [
        "CREATE SEQUENCE fault_once",
        "CREATE FUNCTION fail_once() RETURNS trigger AS $$ BEGIN \
         IF nextval('fault_once') = 1 THEN RAISE EXCEPTION 'injected store failure'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER fail_once BEFORE INSERT ON lever_webhooks FOR EACH ROW EXECUTE FUNCTION fail_once()",
    ] {
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }
    // Someone deletes our webhooks at Lever; an admin asks for a sweep.
    assert_eq!(sim.delete_webhooks(&s.account).unwrap(), 4);
    sweep_now(&app, &s).await;
    // The repair whose store failed deletes what it registered; the next
    // sweep registers again and keeps the tokens.
    let stored = poll_until(60, "the webhooks registered again and stored", || async {
        let hooks = sim.webhooks(&s.account).unwrap();
        let n = app.count(&format!(
            "SELECT count(*) AS n FROM lever_webhooks w WHERE deleted_at IS NULL AND lever_webhook_id IN ({})",
            hooks
                .iter()
                .map(|h| format!("'{}'", h.id))
                .chain(["''".to_owned()])
                .collect::<Vec<_>>()
                .join(",")
        ));
        (hooks.len() == 4 && n == 4).then_some(hooks)
    })
    .await;
    // One failed insert, then the second repair's four.
    assert_eq!(app.count("SELECT last_value AS n FROM fault_once"), 5);
    assert!(stored.iter().all(|h| h.url == url), "{stored:?}");
    let stage_hook = stored
        .iter()
        .find(|h| h.event == "candidateStageChange")
        .unwrap()
        .id
        .clone();
    let calls = sim.calls_for(&s.account);
    let registered: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/webhooks") && c.status / 100 == 2)
        .collect();
    let deleted: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "DELETE" && c.path.contains("/webhooks/") && c.status / 100 == 2)
        .collect();
    // Connecting registered four, each repair four; the unstored ones are gone.
    assert_eq!(registered.len(), 12, "{calls:?}");
    assert_eq!(deleted.len(), 4, "{calls:?}");
    for d in &deleted {
        assert!(!stored.iter().any(|h| d.path.ends_with(&h.id)), "{d:?}");
    }
    // A delivery signed with the new token is accepted and linked.
    let opps = s.candidates(&sim, 1);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    let delivered = sim.deliveries(&s.account).unwrap();
    let to_new: Vec<_> = delivered
        .iter()
        .filter(|d| d.webhook_id == stage_hook && d.opportunity_id.as_deref() == Some(&opps[0]))
        .collect();
    assert_eq!(to_new.len(), 1, "{delivered:?}");
    poll_until(30, "the delivery answered", || async {
        let d = sim.deliveries(&s.account).unwrap();
        d.iter()
            .find(|d| d.webhook_id == stage_hook && d.finished)
            .map(|d| assert_eq!((d.delivered, d.status), (true, Some(200)), "{d:?}"))
    })
    .await;
    let sources = sources(&app, &s).await;
    assert!(
        sources.iter().any(|e| e["source"] == "webhook"),
        "{sources:?}"
    );
}

async fn health(app: &TestApp, s: &Scenario) -> Value {
    app.get(
        &format!("/api/v1/orgs/{}/lever/health", s.org),
        Some(&s.key),
    )
    .await
    .body
}

fn problem_codes(h: &Value) -> Vec<String> {
    h["problems"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| p["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn a_sweep_through_a_lever_outage_is_retried_until_it_runs() {
    use arkiter_lever::lever::sim::{FaultAction, FaultRule};
    let (app, sim, s) = connected(None).await;
    let before = poll_until(30, "the first sweep", || async {
        let h = health(&app, &s).await;
        (!h["sweep"]["last_at"].is_null()).then(|| h["sweep"]["last_at"].clone())
    })
    .await;
    let opps = s.candidates(&sim, 20);
    sim.move_without_delivery(&s.account, &opps, &s.stage)
        .unwrap();
    // Lever answers 429 for 30 s, then 503 for 30 s; meanwhile a sweep is
    // asked for.
    let t0 = chrono::Utc::now().timestamp_millis();
    let recovered_at = t0 + 60_000;
    for (status, until) in [(429, t0 + 30_000), (503, recovered_at)] {
        sim.add_fault(
            &s.account,
            FaultRule::always(FaultAction::Status { status }).until(until),
        )
        .unwrap();
    }
    sweep_now(&app, &s).await;
    // Throughout the outage: never reported as a sweep that ran.
    let mut saw_failing = false;
    while chrono::Utc::now().timestamp_millis() < recovered_at {
        let h = health(&app, &s).await;
        assert_eq!(h["sweep"]["last_at"], before, "{h}");
        assert_eq!(h["sweep"]["found_last"], 0, "{h}");
        if problem_codes(&h).iter().any(|c| c == "sweep_failing") {
            assert!(h["sweep"]["failing_since"].is_string(), "{h}");
            assert!(h["sweep"]["last_error"].is_string(), "{h}");
            saw_failing = true;
        }
        // Sampling the health page, not waiting for a state.
        actix_rt::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(
        saw_failing,
        "a minute of outage never showed the sweep failing"
    );
    // Within 30 s of Lever answering again, every candidate is linked.
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    for opp in &opps {
        assert_eq!(post_writes(&sim, &s, opp, "/addLinks"), 1, "{opp}");
    }
    let h = poll_until(30, "the sweep recorded", || async {
        let h = health(&app, &s).await;
        (h["sweep"]["found_last"] == 20).then_some(h)
    })
    .await;
    assert!(h["sweep"]["failing_since"].is_null(), "{h}");
    assert!(
        !problem_codes(&h).iter().any(|c| c == "sweep_failing"),
        "{h}"
    );
}
