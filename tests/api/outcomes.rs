//! Results where recruiters decide (docs/contract/results.md): a role's
//! pass score tags the candidate passed or not passed and may move a
//! passing candidate to a next stage once; Lever posting tags map
//! postings to roles; a new interview takes off what the previous one
//! posted. Every fact is read from the simulator's state and call log.

use arkiter_lever::lever::sim::SimHandle;
use serde_json::{Value, json};

use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};
use crate::lifecycle::{linked, the_interview};
use crate::one_candidate::{act, settled};

const PASSED: &str = "Arkiter Live: Passed";
const NOT_PASSED: &str = "Arkiter Live: Not Passed";
const COMPLETED: &str = "Arkiter Live: Completed";
const LINK_TAG: &str = "Arkiter Live: Link Created";

pub async fn patch(app: &TestApp, path: &str, key: &str, body: &Value) -> crate::helpers::Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    app.request("PATCH", path, Some(key), Some(("application/json", bytes)))
        .await
}

/// The scenario's one role ("Backend"), changed by `body`.
async fn set_role(app: &TestApp, s: &Scenario, body: Value) -> Value {
    let r = app
        .get(&format!("/api/v1/orgs/{}/roles", s.org), Some(&s.key))
        .await;
    let id = r.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = patch(
        app,
        &format!("/api/v1/orgs/{}/roles/{id}", s.org),
        &s.key,
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Completes `opp`'s interview with `result` and waits until its results are on Lever.
async fn complete(app: &TestApp, s: &Scenario, opp: &str, result: Value) -> Value {
    let iv = the_interview(app, s, opp).await;
    let id = iv["id"].as_str().unwrap().to_owned();
    let r = act(app, s, &id, "complete", result).await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "the results posted", || async {
        let iv = the_interview(app, s, opp).await;
        (iv["status"] == "results_posted").then_some(iv)
    })
    .await
}

fn tags(sim: &SimHandle, s: &Scenario, opp: &str) -> Vec<String> {
    sim.opportunity(&s.account, opp).unwrap().tags
}

fn stage_moves(sim: &SimHandle, s: &Scenario, opp: &str) -> usize {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method == "PUT" && c.path.ends_with(&format!("{opp}/stage")))
        .count()
}

#[actix_rt::test]
async fn a_pass_score_of_70_tags_70_passed_69_not_passed_and_no_score_neither() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let role = set_role(&app, &s, json!({"pass_score": 70})).await;
    assert_eq!(role["pass_score"], 70);
    let (a, b, c) = (
        linked(&app, &sim, &s).await,
        linked(&app, &sim, &s).await,
        linked(&app, &sim, &s).await,
    );
    let ia = complete(&app, &s, &a, json!({"score": 70})).await;
    let ib = complete(&app, &s, &b, json!({"score": 69})).await;
    let ic = complete(&app, &s, &c, json!({"summary": "no score given"})).await;
    assert_eq!(
        (&ia["outcome"], &ib["outcome"]),
        (&json!("passed"), &json!("not_passed"))
    );
    assert!(ic["outcome"].is_null(), "{ic}");
    let (ta, tb, tc) = (tags(&sim, &s, &a), tags(&sim, &s, &b), tags(&sim, &s, &c));
    assert!(
        ta.contains(&PASSED.into()) && !ta.contains(&NOT_PASSED.into()),
        "{ta:?}"
    );
    assert!(
        tb.contains(&NOT_PASSED.into()) && !tb.contains(&PASSED.into()),
        "{tb:?}"
    );
    assert!(
        !tc.contains(&PASSED.into()) && !tc.contains(&NOT_PASSED.into()),
        "{tc:?}"
    );
    assert!(ta.contains(&COMPLETED.into()), "{ta:?}");
    // The interview shows the trigger stage it was linked from.
    assert_eq!(ia["stage_id"], json!(s.stage));
}

#[actix_rt::test]
async fn a_passing_candidate_moves_once_and_never_after_the_recruiter_moved_it() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let onsite = sim.add_stage(&s.account, "Onsite").unwrap().id;
    set_role(
        &app,
        &s,
        json!({"pass_score": 70, "on_pass_stage": {"name": "onsite"}}),
    )
    .await;
    let a = linked(&app, &sim, &s).await;
    let b = linked(&app, &sim, &s).await;
    complete(&app, &s, &a, json!({"score": 90})).await;
    assert_eq!(sim.opportunity(&s.account, &a).unwrap().stage, onsite);
    assert_eq!(stage_moves(&sim, &s, &a), 1);
    // The same completion again changes nothing.
    let id = the_interview(&app, &s, &a).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = act(&app, &s, &id, "complete", json!({"score": 90})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;
    assert_eq!(stage_moves(&sim, &s, &a), 1);

    // The recruiter moves b on before the result comes: their move wins.
    s.move_to(&sim, std::slice::from_ref(&b), &s.other_stage);
    settled(&app).await;
    let ib = complete(&app, &s, &b, json!({"score": 95})).await;
    assert_eq!(ib["outcome"], "passed");
    assert_eq!(
        sim.opportunity(&s.account, &b).unwrap().stage,
        s.other_stage
    );
    assert_eq!(stage_moves(&sim, &s, &b), 0);
}

#[actix_rt::test]
async fn a_tagged_posting_resolves_by_its_tag_without_an_extra_lever_call() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let posting = sim.add_posting(&s.account, "Platform Engineer").unwrap().id;
    sim.set_posting_tags(&s.account, &posting, ["arkiter-backend", "remote"])
        .unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/roles", s.org),
            Some(&s.key),
            &json!({"name": "Platform", "ats_jobs": [], "ats_tags": ["arkiter-backend"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["ats_tags"], json!(["arkiter-backend"]));
    let resolve = app
        .get(
            &format!(
                "/api/v1/orgs/{}/roles/resolve?posting_id={posting}&title=Platform%20Engineer&tag=remote&tag=arkiter-backend",
                s.org
            ),
            Some(&s.key),
        )
        .await;
    assert_eq!(resolve.status, 200, "{}", resolve.body);
    assert_eq!(
        (&resolve.body["role_name"], &resolve.body["rule"]),
        (&json!("Platform"), &json!("posting_tag"))
    );
    let opp = s.candidate_on(&sim, &posting, "t@example.com");
    sim.clear_call_log();
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), LINK_TAG, 30).await;
    settled(&app).await;
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(
        (&iv["role_name"], &iv["rule"]),
        (&json!("Platform"), &json!("posting_tag"))
    );
    // The link step's calls: the opportunity, the posting (once: its tags
    // come with it), the link and the tag. Nothing else.
    let calls: Vec<String> = sim
        .calls_for(&s.account)
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    let expected = vec![
        format!("GET /v1/opportunities/{opp}"),
        format!("GET /v1/postings/{posting}"),
        format!("POST /v1/opportunities/{opp}/addLinks"),
        format!("POST /v1/opportunities/{opp}/addTags"),
    ];
    assert_eq!(calls, expected);
}

#[actix_rt::test]
async fn a_new_interview_takes_off_the_completed_and_passed_tags_of_the_first() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    set_role(&app, &s, json!({"pass_score": 50})).await;
    let opp = linked(&app, &sim, &s).await;
    complete(&app, &s, &opp, json!({"score": 80})).await;
    let t = tags(&sim, &s, &opp);
    assert!(
        t.contains(&PASSED.into()) && t.contains(&COMPLETED.into()),
        "{t:?}"
    );
    s.move_to(&sim, std::slice::from_ref(&opp), &s.other_stage);
    settled(&app).await;
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    let second = poll_until(30, "a second interview linked", || async {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
                Some(&s.key),
            )
            .await;
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        items.into_iter().find(|i| i["status"] == "link_posted")
    })
    .await;
    assert!(second["outcome"].is_null(), "{second}");
    let t = tags(&sim, &s, &opp);
    assert!(t.contains(&LINK_TAG.into()), "{t:?}");
    assert!(
        !t.contains(&PASSED.into()) && !t.contains(&COMPLETED.into()),
        "{t:?}"
    );
}

#[actix_rt::test]
async fn posting_tags_and_entries_are_unique_only_among_roles_that_share_a_stage() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let roles = format!("/api/v1/orgs/{}/roles", s.org);
    let create = |body: Value| {
        let (app, roles, key) = (&app, roles.clone(), s.key.clone());
        async move { app.post_json(&roles, Some(&key), &body).await }
    };
    create(json!({"name": "A", "ats_tags": ["x", "x"]}))
        .await
        .assert_error(422, "validation_failed");
    create(json!({"name": "A", "pass_score": 101}))
        .await
        .assert_error(422, "validation_failed");
    create(json!({"name": "A", "on_pass_stage": {}}))
        .await
        .assert_error(422, "validation_failed");
    let screen = create(json!({"name": "Screen", "ats_jobs": ["Data Engineer"], "ats_tags": ["data"], "stages": ["st-screen"]})).await;
    assert_eq!(screen.status, 201, "{}", screen.body);
    // Every-stage roles share every stage: the scenario's "Backend" role.
    let r =
        create(json!({"name": "Dup", "ats_jobs": ["BACKEND ENGINEER"], "stages": ["st-other"]}))
            .await;
    r.assert_error(409, "conflict");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Backend"),
        "{}",
        r.body
    );
    create(json!({"name": "Dup", "ats_tags": ["data"], "stages": ["st-screen", "st-x"]}))
        .await
        .assert_error(409, "conflict");
    // Another stage: the same entry and tag are allowed.
    let onsite = create(json!({"name": "Onsite", "ats_jobs": ["data engineer"], "ats_tags": ["data"], "stages": ["st-onsite"]})).await;
    assert_eq!(onsite.status, 201, "{}", onsite.body);
    let at = |stage: &str| {
        let (app, org, key, stage) = (&app, s.org.clone(), s.key.clone(), stage.to_owned());
        async move {
            app.get(
                &format!("/api/v1/orgs/{org}/roles/resolve?title=Data%20Engineer&stage_id={stage}"),
                Some(&key),
            )
            .await
            .body["role_name"]
                .clone()
        }
    };
    assert_eq!(at("st-screen").await, "Screen");
    assert_eq!(at("st-onsite").await, "Onsite");
}

#[actix_rt::test]
async fn a_candidate_no_role_can_take_carries_needs_attention_until_a_role_and_a_replay_link_it() {
    const ATTENTION: &str = "Arkiter Live: Needs Attention";
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    s.remove_role(&app).await;
    let opp = s.candidates(&sim, 1).remove(0);
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), ATTENTION, 30).await;
    let dead = poll_until(30, "the event dead", || async {
        app.events(
            &s.org,
            &s.key,
            &format!("?status=dead&opportunity_id={opp}"),
        )
        .await
        .into_iter()
        .next()
    })
    .await;
    // Every retry found the tag on: it was added once.
    let adds = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.path.ends_with(&format!("{opp}/addTags")))
        .count();
    assert_eq!(adds, 1);
    s.add_backend_role(&app).await;
    let r = app
        .post_json(
            &format!(
                "/api/v1/orgs/{}/events/{}/replay",
                s.org,
                dead["id"].as_str().unwrap()
            ),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), LINK_TAG, 30).await;
    settled(&app).await;
    let t = tags(&sim, &s, &opp);
    assert!(!t.contains(&ATTENTION.to_owned()), "{t:?}");
    assert_eq!(s.live_link_count(&sim, &opp), 1);
}

#[actix_rt::test]
async fn a_posting_two_roles_map_by_tag_goes_to_the_oldest_and_health_lists_the_overlap() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let posting = sim.add_posting(&s.account, "Data Engineer").unwrap().id;
    sim.set_posting_tags(&s.account, &posting, ["data", "python"])
        .unwrap();
    let roles = format!("/api/v1/orgs/{}/roles", s.org);
    for (name, tag) in [("Data", "data"), ("Python", "python")] {
        let r = app
            .post_json(
                &roles,
                Some(&s.key),
                &json!({"name": name, "ats_tags": [tag]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let opp = s.candidate_on(&sim, &posting, "two@example.com");
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), LINK_TAG, 30).await;
    settled(&app).await;
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(
        (&iv["role_name"], &iv["rule"]),
        (&json!("Data"), &json!("posting_tag"))
    );
    let overlap = crate::results_written::problem(&app, &s, "role_overlap").await;
    let message = overlap["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&posting) && message.contains("Data, Python"),
        "{overlap}"
    );
    // Changing the roles clears it until a resolution finds it again.
    let python = app.get(&roles, Some(&s.key)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Python")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("{roles}/{python}"), Some(&s.key))
            .await
            .status,
        204
    );
    let gone = crate::results_written::problem(&app, &s, "role_overlap").await;
    assert!(gone.is_null(), "{gone}");
}
