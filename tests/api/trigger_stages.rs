//! Several trigger stages on one connection (docs/contract/results.md):
//! "Arkiter Live – Screen" and "Arkiter Live – Onsite", each with its own
//! role; one open interview per candidate, whichever stage it is in; the
//! sweep lists every stage. Read from the simulator and the API.

use arkiter_lever::lever::sim::SimHandle;
use serde_json::{Value, json};

use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};
use crate::one_candidate::settled;
use crate::outcomes::patch;
use crate::sweep::pipeline::sweep_and_settle;

const LINK_TAG: &str = "Arkiter Live: Link Created";
const CLOSED_TAG: &str = "Arkiter Live: Closed";

/// The scenario with a second trigger stage, "Onsite", whose candidates
/// get role "Onsite Backend"; the first stage keeps "Backend".
async fn two_stages(app: &TestApp, sim: &SimHandle) -> (Scenario, String) {
    let s = scenario(app, sim).await;
    let onsite = sim
        .add_stage(&s.account, "Arkiter Live – Onsite")
        .unwrap()
        .id;
    let lever = format!("/api/v1/orgs/{}/lever", s.org);
    let r = patch(
        app,
        &lever,
        &s.key,
        &json!({"stages": [{"id": s.stage}, {"name": "arkiter live – onsite"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["stages"][1],
        json!({"id": onsite, "name": "Arkiter Live – Onsite", "found": true})
    );
    assert_eq!(r.body["stage"]["id"], json!(s.stage));
    assert_eq!(r.body["status"], "active");
    let roles = format!("/api/v1/orgs/{}/roles", s.org);
    let backend = app.get(&roles, Some(&s.key)).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = patch(
        app,
        &format!("{roles}/{backend}"),
        &s.key,
        &json!({"stages": [s.stage]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post_json(
            &roles,
            Some(&s.key),
            &json!({"name": "Onsite Backend", "ats_jobs": ["Backend Engineer"], "stages": [onsite]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (s, onsite)
}

async fn interviews(app: &TestApp, s: &Scenario, opp: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
            Some(&s.key),
        )
        .await;
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[actix_rt::test]
async fn each_stage_links_its_own_role_and_a_move_between_them_leaves_one_link() {
    let (app, sim) = spawn_with_sim().await;
    let (s, onsite) = two_stages(&app, &sim).await;
    let (a, b) = {
        let mut c = s.candidates(&sim, 2);
        (c.remove(0), c.remove(0))
    };
    s.move_to(&sim, std::slice::from_ref(&a), &s.stage);
    s.move_to(&sim, std::slice::from_ref(&b), &onsite);
    wait_for_tag(&sim, &s.account, &[a.clone(), b.clone()], LINK_TAG, 30).await;
    settled(&app).await;
    let ia = interviews(&app, &s, &a).await;
    let ib = interviews(&app, &s, &b).await;
    assert_eq!(
        (&ia[0]["role_name"], &ia[0]["stage_id"]),
        (&json!("Backend"), &json!(s.stage))
    );
    assert_eq!(
        (&ib[0]["role_name"], &ib[0]["stage_id"]),
        (&json!("Onsite Backend"), &json!(onsite))
    );

    // a moves on to the second stage: its first interview closes
    // (left_stage, no closed tag) and a second one links it there.
    s.move_to(&sim, std::slice::from_ref(&a), &onsite);
    let both = poll_until(30, "a second interview for a", || async {
        let ivs = interviews(&app, &s, &a).await;
        (ivs.len() == 2 && ivs.iter().any(|i| i["status"] == "link_posted")).then_some(ivs)
    })
    .await;
    settled(&app).await;
    let first = both
        .iter()
        .find(|i| i["stage_id"] == json!(s.stage))
        .unwrap();
    let second = both
        .iter()
        .find(|i| i["stage_id"] == json!(onsite))
        .unwrap();
    assert_eq!(
        (&first["status"], &first["close_reason"]),
        (&json!("cancelled"), &json!("left_stage"))
    );
    assert_eq!(
        (&second["status"], &second["role_name"]),
        (&json!("link_posted"), &json!("Onsite Backend"))
    );
    assert_eq!(s.live_link_count(&sim, &a), 1);
    let view = sim.opportunity(&s.account, &a).unwrap();
    assert!(
        view.links
            .iter()
            .any(|l| Some(l.as_str()) == second["live_url"].as_str())
    );
    assert!(
        !view.tags.contains(&CLOSED_TAG.to_owned()),
        "{:?}",
        view.tags
    );
    assert!(view.tags.contains(&LINK_TAG.to_owned()), "{:?}", view.tags);
}

#[actix_rt::test]
async fn the_sweep_finds_undelivered_candidates_in_every_stage() {
    let (app, sim) = spawn_with_sim().await;
    let (s, onsite) = two_stages(&app, &sim).await;
    let (c, d) = {
        let mut x = s.candidates(&sim, 2);
        (x.remove(0), x.remove(0))
    };
    sim.move_without_delivery(&s.account, std::slice::from_ref(&c), &s.stage)
        .unwrap();
    sim.move_without_delivery(&s.account, std::slice::from_ref(&d), &onsite)
        .unwrap();
    sweep_and_settle(&app, &sim, &s).await;
    wait_for_tag(&sim, &s.account, &[c.clone(), d.clone()], LINK_TAG, 30).await;
    let listed: Vec<String> = sim
        .calls_for(&s.account)
        .iter()
        .filter(|x| x.path == "/v1/opportunities" && x.query.contains("stage_id"))
        .map(|x| x.query.clone())
        .collect();
    assert!(
        listed.iter().any(|q| q.contains(&s.stage)) && listed.iter().any(|q| q.contains(&onsite)),
        "{listed:?}"
    );
    settled(&app).await;
    assert_eq!(
        interviews(&app, &s, &d).await[0]["role_name"],
        "Onsite Backend"
    );
}

#[actix_rt::test]
async fn stage_and_stages_together_a_stage_twice_and_a_missing_stage() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let lever = format!("/api/v1/orgs/{}/lever", s.org);
    patch(
        &app,
        &lever,
        &s.key,
        &json!({"stage": {"id": s.stage}, "stages": [{"id": s.stage}]}),
    )
    .await
    .assert_error(422, "validation_failed");
    patch(
        &app,
        &lever,
        &s.key,
        &json!({"stages": [{"id": s.stage}, {"name": "ARKITER LIVE"}]}),
    )
    .await
    .assert_error(422, "validation_failed");
    patch(&app, &lever, &s.key, &json!({"stages": []}))
        .await
        .assert_error(422, "validation_failed");
    let r = patch(
        &app,
        &lever,
        &s.key,
        &json!({"stages": [{"id": s.stage}, {"name": "Nowhere"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["status"], "active",
        "one stage is found: work goes on"
    );
    assert_eq!(r.body["stages"][1]["found"], false);
    let h = app.get(&format!("{lever}/health"), Some(&s.key)).await;
    let missing = crate::results_written::problem(&app, &s, "stage_missing").await;
    assert!(
        missing["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Nowhere"),
        "{}",
        h.body
    );
    assert_eq!(
        h.body["stages"].as_array().map(Vec::len),
        Some(2),
        "{}",
        h.body
    );
}
