//! One candidate's story (`GET .../candidates/{opportunity_id}`): the
//! delivery, the role decision, the completion, oldest first; nothing
//! about the person; 404 for a candidate the service never heard of; every
//! Lever call made for it with its status and attempt, and its replays.

const LINK_TAG: &str = "Arkiter Live: Link Created";

use arkiter_lever::lever::sim::{FaultAction, FaultRule};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::poll_until;
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};
use crate::lifecycle::{linked, the_interview};
use crate::one_candidate::{act, settled};

#[actix_rt::test]
async fn the_story_lists_delivery_decision_and_completion_oldest_first_and_no_person() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    complete(&app, &s, &opp).await;
    let r = story_of(&app, &s, &opp).await;
    let kinds: Vec<&str> = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for want in ["delivery", "decision", "completion"] {
        assert!(kinds.contains(&want), "{kinds:?}");
    }
    let at: Vec<&str> = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    let mut sorted = at.clone();
    sorted.sort();
    assert_eq!(at, sorted, "oldest first");
    let decision = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "decision")
        .unwrap();
    assert_eq!(decision["detail"]["rule"], "title");
    assert_eq!(r["interviews"][0]["status"], "results_posted");
    let text = r.to_string();
    assert!(
        !text.contains("Candidate 0") && !text.contains("@example.com"),
        "{text}"
    );
    // Older entries page with ?before=: nothing is older than the first.
    let first = at[0].replace('+', "%2B");
    let older = app
        .get(
            &format!("/api/v1/orgs/{}/candidates/{opp}?before={first}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(older.status, 200, "{}", older.body);
    assert_eq!(older.body["timeline"].as_array().map(Vec::len), Some(0));
    app.get(
        &format!("/api/v1/orgs/{}/candidates/never-seen", s.org),
        Some(&s.key),
    )
    .await
    .assert_error(404, "not_found");
}

/// The candidate's story, asserted found.
async fn story_of(app: &TestApp, s: &Scenario, opp: &str) -> Value {
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/candidates/{opp}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The platform completes the candidate's interview; every unit settles.
async fn complete(app: &TestApp, s: &Scenario, opp: &str) {
    let iv = the_interview(app, s, opp).await;
    let r = act(
        app,
        s,
        iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 77, "summary": "fine"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(app).await;
}

/// An admin replays the candidate's (first listed) done event; returns its
/// id once every unit settled.
pub async fn replay_done(app: &TestApp, s: &Scenario, opp: &str) -> String {
    let events = app
        .list_events(
            &s.org,
            &format!("?opportunity_id={opp}&status=done"),
            Some(&s.key),
        )
        .await;
    let event = events.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/events/{event}/replay", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(app).await;
    event
}

/// The story's entries of one kind.
fn of_kind<'a>(story: &'a Value, kind: &str) -> Vec<&'a Value> {
    story["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[actix_rt::test]
async fn the_story_holds_every_lever_call_with_its_status_and_attempt_and_the_replay() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1).remove(0);
    // Lever answers the link step's first read 503 twice; the third try reads.
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 503 })
            .on("GET", &format!("/opportunities/{opp}"))
            .times(2),
    )
    .unwrap();
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), LINK_TAG, 30).await;
    settled(&app).await;
    complete(&app, &s, &opp).await;
    replay_done(&app, &s, &opp).await;

    // Records are written in batches: wait for the replay's own calls.
    let story = poll_until(30, "the replay's Lever calls recorded", || async {
        let r = story_of(&app, &s, &opp).await;
        let replay_at = of_kind(&r, "replay").first()?["at"].as_str()?.to_owned();
        of_kind(&r, "lever_call")
            .iter()
            .any(|c| c["at"].as_str().is_some_and(|at| at > replay_at.as_str()))
            .then_some(r)
    })
    .await;
    let timeline = story["timeline"].as_array().unwrap();
    let at: Vec<&str> = timeline.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = at.clone();
    sorted.sort();
    assert_eq!(at, sorted, "oldest first");
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    let first = |k: &str| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    assert!(first("delivery") < first("lever_call"), "{kinds:?}");
    assert!(first("lever_call") < first("completion"), "{kinds:?}");
    assert!(first("completion") < first("replay"), "{kinds:?}");
    assert!(first("replay") < kinds.len(), "{kinds:?}");

    // The link step: the read answered 503, 503, then 200, attempts 1-3;
    // then the link written.
    let calls: Vec<(String, Option<i64>, i64)> = of_kind(&story, "lever_call")
        .iter()
        .map(|c| {
            let d = &c["detail"];
            (
                d["endpoint"].as_str().unwrap().to_owned(),
                d["status"].as_i64(),
                d["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    let read = "GET /opportunities/{id}".to_owned();
    assert_eq!(
        calls[..3],
        [
            (read.clone(), Some(503), 1),
            (read.clone(), Some(503), 2),
            (read, Some(200), 3)
        ],
        "{calls:#?}"
    );
    let link = calls
        .iter()
        .position(|c| c.0 == "POST /opportunities/{id}/addLinks")
        .expect("the link written");
    assert_eq!(calls[link].1, Some(200));
    assert!(
        of_kind(&story, "lever_call")
            .iter()
            .all(|c| { c["detail"]["duration_ms"].is_i64() && c["detail"]["unit_id"].is_string() })
    );
    // Lever's log agrees: each of those three reads reached it.
    let reads = sim
        .calls_for(&s.account)
        .into_iter()
        .filter(|c| c.method == "GET" && c.path == format!("/v1/opportunities/{opp}"))
        .count();
    assert!(reads >= 3, "{reads}");

    // No token, no person, and no id inside an endpoint.
    let text = story["timeline"].to_string();
    assert!(!text.contains(&opp), "{text}");
    assert!(!text.contains("Candidate 0") && !text.contains("@example.com"));
    assert!(!text.to_lowercase().contains("bearer"));
    for w in sim.webhooks(&s.account).unwrap() {
        if let Some(token) = w.signature_token {
            assert!(!text.contains(&token));
        }
    }
}

/// What the alerts decided about the candidate's connection while it
/// waited is in its story: a problem that held long enough to open is an
/// `alert` entry after the delivery, with its code and message.
#[actix_rt::test]
async fn an_alert_about_the_candidates_connection_is_in_its_story() {
    use arkiter_lever::alerts::evaluator::evaluate;
    use arkiter_lever::config::AlertSettings;
    use diesel::RunQueryDsl;

    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    let exec = |sql: String| {
        diesel::sql_query(sql).execute(&mut app.db()).unwrap();
    };
    exec(format!(
        "UPDATE connections SET problems = '[{{\"code\":\"stage_missing\",\"message\":\"the stage is gone\"}}]' \
         WHERE org_id = '{}'",
        s.org
    ));
    let rules = AlertSettings::default();
    let story = poll_until(30, "the problem opened and in the story", || async {
        evaluate(&mut app.db(), &rules).unwrap();
        // Held long enough to open (60 s), without waiting for it.
        exec(
            "UPDATE alert_problems SET held_since = held_since - interval '70 seconds' \
              WHERE held_since IS NOT NULL"
                .to_owned(),
        );
        evaluate(&mut app.db(), &rules).unwrap();
        let r = story_of(&app, &s, &opp).await;
        let has = r["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "alert");
        has.then_some(r)
    })
    .await;
    let timeline = story["timeline"].as_array().unwrap();
    let alert = timeline.iter().find(|e| e["kind"] == "alert").unwrap();
    assert_eq!(alert["detail"]["type"], "problem.opened", "{alert}");
    assert_eq!(alert["detail"]["code"], "stage_missing", "{alert}");
    assert_eq!(alert["detail"]["message"], "the stage is gone", "{alert}");
    let delivery = timeline
        .iter()
        .position(|e| e["kind"] == "delivery")
        .unwrap();
    let at = timeline.iter().position(|e| e["kind"] == "alert").unwrap();
    assert!(delivery < at, "oldest first: {timeline:?}");
}
