//! One candidate's story (`GET .../candidates/{opportunity_id}`): the
//! delivery, the role decision, the completion, oldest first; nothing
//! about the person; 404 for a candidate the service never heard of.

use serde_json::json;

use crate::lever_flow::{scenario, spawn_with_sim};
use crate::lifecycle::{linked, the_interview};
use crate::one_candidate::{act, settled};

#[actix_rt::test]
async fn the_story_lists_delivery_decision_and_completion_oldest_first_and_no_person() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    let iv = the_interview(&app, &s, &opp).await;
    let r = act(
        &app,
        &s,
        iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 77, "summary": "fine"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/candidates/{opp}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kinds: Vec<&str> = r.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for want in ["delivery", "decision", "completion"] {
        assert!(kinds.contains(&want), "{kinds:?}");
    }
    let at: Vec<&str> = r.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    let mut sorted = at.clone();
    sorted.sort();
    assert_eq!(at, sorted, "oldest first");
    let decision = r.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "decision")
        .unwrap();
    assert_eq!(decision["detail"]["rule"], "title");
    assert_eq!(r.body["interviews"][0]["status"], "results_posted");
    let text = r.body.to_string();
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
