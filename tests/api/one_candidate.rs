//! One candidate, one link: work on one opportunity is
//! serialised, so overlapping deliveries, a cancel during a link step, a
//! replay during a completion, a completion whose link step died and the
//! replay of a link step that went dead all end
//! with exactly one interview, link, tag and note, and nothing loops. Counts
//! come from the simulator's call log and the database, never from the clock.

use arkiter_lever::lever::sim::{AccountPatch, FaultAction, FaultRule, SimHandle};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};

const LINK_TAG: &str = "Arkiter Live: Link Created";

/// Successful calls to `suffix` (e.g. `/addLinks`) for one opportunity.
fn writes(sim: &SimHandle, s: &Scenario, opp: &str, suffix: &str) -> usize {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method == "POST" && c.path.contains(opp) && c.path.ends_with(suffix))
        .filter(|c| c.status / 100 == 2)
        .count()
}

/// Waits until no event or job of the app is open any more.
pub async fn settled(app: &TestApp) {
    poll_until(60, "every unit settled", || async {
        let open = app.count(
            "SELECT (SELECT count(*) FROM lever_events WHERE status IN ('pending', 'retrying')) \
             + (SELECT count(*) FROM jobs WHERE status IN ('pending', 'retrying')) AS n",
        );
        (open == 0).then_some(())
    })
    .await;
}

async fn interviews_of(app: &TestApp, s: &Scenario, opp: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// An interview action (`complete`, `cancel`) as the platform or an admin sends it.
pub async fn act(app: &TestApp, s: &Scenario, id: &str, action: &str, body: Value) -> Resp {
    app.post_json(
        &format!("/api/v1/orgs/{}/interviews/{id}/{action}", s.org),
        Some(&s.key),
        &body,
    )
    .await
}

/// Waits for the opportunity's interview to exist, still `creating`.
async fn creating(app: &TestApp, s: &Scenario, opp: &str) -> Value {
    poll_until(30, "the interview is being created", || async {
        interviews_of(app, s, opp)
            .await
            .into_iter()
            .find(|i| i["status"] == "creating")
    })
    .await
}

/// The signed delivery Lever would send for `opp` entering the stage.
pub fn delivery(sim: &SimHandle, s: &Scenario, opp: &str, token: &str, at: i64) -> (String, Value) {
    let data = json!({"opportunityId": opp, "toStageId": s.stage, "fromStageId": s.start_stage});
    signed_delivery(sim, s, "candidateStageChange", token, at, data)
}

/// A delivery of `event` with `data`, signed with the token of the
/// account's webhook for that event, as Lever sends it: the connection id
/// to post it to, and the body.
pub fn signed_delivery(
    sim: &SimHandle,
    s: &Scenario,
    event: &str,
    token: &str,
    at: i64,
    data: Value,
) -> (String, Value) {
    let hook = sim
        .webhooks(&s.account)
        .unwrap()
        .into_iter()
        .find(|w| w.event == event)
        .unwrap_or_else(|| panic!("a webhook for {event} is registered"));
    let key = hook.signature_token.clone().unwrap();
    let conn = hook.url.rsplit('/').next().unwrap().to_owned();
    let sig = arkiter_lever::lever::signature::sign(&key, token, at);
    let body = json!({"event": event, "triggeredAt": at, "token": token, "signature": sig,
        "data": data});
    (conn, body)
}

#[actix_web::test]
async fn overlapping_entries_of_one_candidate_make_one_link_and_one_tag() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    // Lever's own deliveries off: the test sends them, all at once.
    let off = AccountPatch {
        webhooks_enabled: Some(false),
        ..Default::default()
    };
    sim.patch_account(&s.account, off).unwrap();
    let opps = s.candidates(&sim, 5);
    s.move_to(&sim, &opps, &s.stage);
    let now = chrono::Utc::now().timestamp_millis();
    let mut sends = Vec::new();
    for (i, opp) in opps.iter().enumerate() {
        // In, out and in again within milliseconds: two distinct into-stage
        // deliveries, each delivered twice.
        for (k, at) in [now - 5, now].into_iter().enumerate() {
            let token = format!("{i}{k}{}", "t".repeat(46));
            let (conn, body) = delivery(&sim, &s, opp, &token, at);
            for _ in 0..2 {
                sends.push((conn.clone(), body.clone()));
            }
        }
    }
    let paths: Vec<String> = sends
        .iter()
        .map(|(conn, _)| format!("/webhooks/lever/{conn}"))
        .collect();
    let answers = futures_util::future::join_all(
        sends
            .iter()
            .zip(&paths)
            .map(|((_, body), path)| app.post_json(path, None, body)),
    )
    .await;
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    settled(&app).await;
    for opp in &opps {
        assert_eq!(interviews_of(&app, &s, opp).await.len(), 1, "{opp}");
        assert_eq!(writes(&sim, &s, opp, "/addLinks"), 1, "{opp}");
        assert_eq!(writes(&sim, &s, opp, "/addTags"), 1, "{opp}");
        assert_eq!(s.live_link_count(&sim, opp), 1, "{opp}");
    }
    let done = app.count("SELECT count(*) AS n FROM lever_events WHERE status = 'done'");
    assert_eq!(done, 10, "every distinct delivery ran to done");
    // The account was never paused: a later move is delivered and linked.
    let on = AccountPatch {
        webhooks_enabled: Some(true),
        ..Default::default()
    };
    sim.patch_account(&s.account, on).unwrap();
    let later = s.candidates(&sim, 1);
    s.move_to(&sim, &later, &s.stage);
    wait_for_tag(&sim, &s.account, &later, LINK_TAG, 30).await;
    let health = app
        .get(
            &format!("/api/v1/orgs/{}/lever/health", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(health.body["lever_api"]["throttled_until"], Value::Null);
}

#[actix_web::test]
async fn a_cancel_during_the_link_step_leaves_neither_link_nor_tag() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let hold = FaultRule::always(FaultAction::Latency { ms: 1500 })
        .on("POST", "/addLinks")
        .times(1);
    sim.add_fault(&s.account, hold).unwrap();
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    // The interview exists before its link is sent, which is held: wait
    // until the held `addLinks` has reached Lever, then cancel.
    let iv = creating(&app, &s, &opp[0]).await;
    poll_until(30, "the held addLinks in flight", || async {
        sim.in_flight(&s.account)
            .iter()
            .any(|p| p.ends_with("/addLinks"))
            .then_some(())
    })
    .await;
    let sent_ms = chrono::Utc::now().timestamp_millis();
    let r = act(&app, &s, iv["id"].as_str().unwrap(), "cancel", json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let accepted_ms = chrono::Utc::now().timestamp_millis();
    settled(&app).await;
    // The cancel was accepted while the link step's `addLinks` was at Lever.
    let calls = sim.calls_for(&s.account);
    let add = calls
        .iter()
        .find(|c| c.path.ends_with("/addLinks"))
        .expect("addLinks was sent");
    assert!(
        add.received_ms <= sent_ms && accepted_ms <= add.at_ms,
        "the cancel ({sent_ms}..{accepted_ms}) did not overlap addLinks ({}..{})",
        add.received_ms,
        add.at_ms
    );
    let view = sim.opportunity(&s.account, &opp[0]).unwrap();
    assert!(view.links.iter().all(|l| !l.contains("/live/")), "{view:?}");
    assert!(!view.tags.iter().any(|t| t == LINK_TAG), "{view:?}");
    assert_eq!(
        interviews_of(&app, &s, &opp[0]).await[0]["status"],
        "cancelled"
    );
    // The cancel waited for the link step: its removals came after the adds.
    let calls = sim.calls_for(&s.account);
    let at = |suffix: &str| calls.iter().position(|c| c.path.ends_with(suffix));
    assert!(at("/addLinks") < at("/removeLinks"), "{calls:#?}");
    assert!(at("/addTags") < at("/removeTags"), "{calls:#?}");
}

#[actix_web::test]
async fn a_replay_during_a_completion_posts_one_note() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    settled(&app).await;
    let iv = interviews_of(&app, &s, &opp[0]).await.remove(0);
    let events = app.list_events(&s.org, "?status=done", Some(&s.key)).await;
    let event = events.body["items"][0]["id"].as_str().unwrap().to_owned();
    // The completion's note is held at Lever while the replay arrives.
    let hold = FaultRule::always(FaultAction::Latency { ms: 1500 })
        .on("POST", "/notes")
        .times(1);
    sim.add_fault(&s.account, hold).unwrap();
    let r = act(
        &app,
        &s,
        iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 90, "summary": "Strong"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "the completion is running", || async {
        (writes(&sim, &s, &opp[0], "/removeTags") == 1).then_some(())
    })
    .await;
    replay(&app, &s, &event).await;
    settled(&app).await;
    let calls: Vec<_> = sim
        .calls_for(&s.account)
        .into_iter()
        .map(|c| (c.method, c.path, c.status, c.at_ms))
        .collect();
    assert_eq!(
        sim.opportunity(&s.account, &opp[0]).unwrap().notes.len(),
        1,
        "{calls:#?}"
    );
    assert_eq!(writes(&sim, &s, &opp[0], "/notes"), 1);
    assert_eq!(
        writes(&sim, &s, &opp[0], "/addLinks"),
        2,
        "live, then results"
    );
}

/// One candidate whose every link add is refused (its link step goes
/// dead), completed with `score` while the interview is `creating`; once
/// all settled: the app, the simulator, the scenario, the candidate and the
/// interview id.
async fn completed_while_the_link_step_dies(
    score: u32,
) -> (TestApp, SimHandle, Scenario, Vec<String>, String) {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let refuse = FaultRule::always(FaultAction::Status { status: 404 }).on("POST", "/addLinks");
    sim.add_fault(&s.account, refuse).unwrap();
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    let iv = creating(&app, &s, &opp[0]).await;
    let id = iv["id"].as_str().unwrap().to_owned();
    let r = act(&app, &s, &id, "complete", json!({"score": score})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;
    (app, sim, s, opp, id)
}

#[actix_web::test]
async fn a_completion_for_an_interview_whose_link_step_died_ends_failed() {
    let (app, _sim, s, _opp, id) = completed_while_the_link_step_dies(70).await;
    let iv = app
        .get(
            &format!("/api/v1/orgs/{}/interviews/{id}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(iv.body["status"], "failed", "{}", iv.body);
    assert_eq!(iv.body["result"]["score"], 70.0, "the result is kept");
    #[derive(diesel::QueryableByName, Debug)]
    struct Job {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        last_error: Option<String>,
    }
    let jobs: Vec<Job> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT status, attempts, last_error FROM jobs"),
        &mut app.db(),
    )
    .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "dead", "{jobs:?}");
    assert_eq!(jobs[0].attempts, 1, "ended at once: {jobs:?}");
    assert!(
        jobs[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("failed before its link was posted")),
        "says why: {jobs:?}"
    );
    let dead_events = app.count("SELECT count(*) AS n FROM lever_events WHERE status = 'dead'");
    assert_eq!(dead_events, 1, "the link step's event says why it failed");
}

#[actix_web::test]
async fn a_panicking_unit_retries_and_counts_a_restart() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let sim = crate::lever_support::start_sim().await;
    let target: Arc<Mutex<Option<String>>> = Arc::default();
    let panics = Arc::new(AtomicUsize::new(0));
    let (t, p) = (target.clone(), panics.clone());
    let hooks = arkiter_lever::pipeline::hooks::Hooks::none().before_unit(move |opp| {
        let hit = t.lock().unwrap().as_deref() == Some(opp);
        if hit && p.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("injected fault");
        }
    });
    let app =
        crate::helpers::spawn_app_with_hooks(|set| crate::lever_flow::point_at(set, &sim), hooks)
            .await;
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 3);
    *target.lock().unwrap() = Some(opps[0].clone());
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    settled(&app).await;
    assert_eq!(
        panics.load(Ordering::SeqCst),
        2,
        "panicked once, then retried"
    );
    for opp in &opps {
        assert_eq!(writes(&sim, &s, opp, "/addLinks"), 1);
    }
    let health = app
        .get(
            &format!("/api/v1/orgs/{}/lever/health", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(health.body["supervisor"]["restarts"], 1, "{}", health.body);
    assert_eq!(
        health.body["supervisor"]["running"], true,
        "{}",
        health.body
    );
}

#[actix_web::test]
async fn the_link_removed_is_the_one_posted_even_after_the_live_url_changed() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    settled(&app).await;
    let posted = sim.opportunity(&s.account, &opp[0]).unwrap().links;
    assert_eq!(posted.len(), 1);
    let iv = interviews_of(&app, &s, &opp[0]).await.remove(0);
    assert_eq!(iv["live_url"].as_str(), Some(posted[0].as_str()));
    // The service is redeployed with another ARKITER_LIVE_URL: this
    // instance stops, another one with the new setting takes the account.
    app.registry
        .as_ref()
        .unwrap()
        .do_send(arkiter_lever::pipeline::registry::StopRegistry);
    let mut settings = crate::helpers::test_settings(&app.db_url);
    crate::lever_flow::point_at(&mut settings, &sim);
    settings.encryption_key = Some(app.encryption_key.clone());
    settings.live_url = Some("https://interviews.example.com/live".to_owned());
    settings.instance.id = "redeployed".to_owned();
    let _next = crate::support::server::InProcess::start(settings);
    let r = act(
        &app,
        &s,
        iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 75}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_for_tag(&sim, &s.account, &opp, "Arkiter Live: Completed", 60).await;
    settled(&app).await;
    let links = sim.opportunity(&s.account, &opp[0]).unwrap().links;
    assert!(
        !links.contains(&posted[0]),
        "the posted live link is gone: {links:?}"
    );
    assert_eq!(links.len(), 1, "only the results link: {links:?}");
    let iv = interviews_of(&app, &s, &opp[0]).await.remove(0);
    assert_eq!(iv["live_url"].as_str(), Some(posted[0].as_str()));
    assert_eq!(iv["results_url"].as_str(), Some(links[0].as_str()));
}

/// Calls to `suffix` for one opportunity, whatever Lever answered.
fn calls(sim: &SimHandle, s: &Scenario, opp: &str, suffix: &str) -> usize {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method == "POST" && c.path.contains(opp) && c.path.ends_with(suffix))
        .count()
}

/// Replays the org's one dead event once it is dead; returns it.
/// Replays `event` as an admin would; accepted.
async fn replay(app: &TestApp, s: &Scenario, event: &str) {
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/events/{event}/replay", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

async fn replay_the_dead_event(app: &TestApp, s: &Scenario) -> String {
    let dead = app
        .wait_for_events((&s.org, &s.key), "?status=dead", "the event is dead", |e| {
            e.len() == 1
        })
        .await;
    let event = dead[0]["id"].as_str().unwrap().to_owned();
    replay(app, s, &event).await;
    event
}

#[actix_web::test]
async fn a_replay_after_a_failed_link_step_posts_the_link_once() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let refuse = FaultRule::always(FaultAction::Status { status: 403 }).on("POST", "/addLinks");
    sim.add_fault(&s.account, refuse).unwrap();
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    app.wait_for_interviews((&s.org, &s.key), "", "the interview failed", |i| {
        i.len() == 1 && i[0]["status"] == "failed"
    })
    .await;
    sim.clear_faults(&s.account).unwrap();
    let refused = calls(&sim, &s, &opp[0], "/addLinks");
    assert!(refused >= 1);
    replay_the_dead_event(&app, &s).await;
    wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    settled(&app).await;
    assert_eq!(calls(&sim, &s, &opp[0], "/addLinks"), refused + 1);
    assert_eq!(writes(&sim, &s, &opp[0], "/addLinks"), 1);
    assert_eq!(calls(&sim, &s, &opp[0], "/addTags"), 1);
    let view = sim.opportunity(&s.account, &opp[0]).unwrap();
    assert_eq!(view.links.len(), 1, "{:?}", view.links);
    let ivs = interviews_of(&app, &s, &opp[0]).await;
    assert_eq!(ivs.len(), 1, "the same interview, not a second one");
    assert_eq!(ivs[0]["status"], "link_posted", "{}", ivs[0]);
    assert_eq!(ivs[0]["live_url"].as_str(), Some(view.links[0].as_str()));
}

#[actix_web::test]
async fn a_replay_after_a_failed_link_step_also_swaps_a_stored_completion() {
    let (app, sim, s, opp, _id) = completed_while_the_link_step_dies(64).await;
    sim.clear_faults(&s.account).unwrap();
    replay_the_dead_event(&app, &s).await;
    wait_for_tag(&sim, &s.account, &opp, "Arkiter Live: Completed", 30).await;
    settled(&app).await;
    let view = sim.opportunity(&s.account, &opp[0]).unwrap();
    assert_eq!(view.notes.len(), 1, "{:?}", view.notes);
    assert!(view.notes[0].value.contains("Score: 64/100"));
    assert_eq!(
        view.links.len(),
        1,
        "the results link only: {:?}",
        view.links
    );
    assert_eq!(
        writes(&sim, &s, &opp[0], "/addLinks"),
        2,
        "live, then results"
    );
    assert_eq!(writes(&sim, &s, &opp[0], "/notes"), 1);
}
