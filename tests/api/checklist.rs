//! The setup checklist in `GET /lever` (docs/contract/http-api.md): each
//! step says what is true now; Lever's Test ping completes
//! `delivery_received`, the first link `first_link`.

use serde_json::Value;

use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};

async fn steps(app: &TestApp, s: &Scenario) -> Vec<(String, bool)> {
    let r = app
        .get(&format!("/api/v1/orgs/{}/lever", s.org), Some(&s.key))
        .await;
    r.body["checklist"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|x: &Value| (x["step"].as_str().unwrap().to_owned(), x["done"] == true))
        .collect()
}

fn done(steps: &[(String, bool)], step: &str) -> bool {
    steps.iter().any(|(s, d)| s == step && *d)
}

#[actix_rt::test]
async fn a_test_ping_and_the_first_link_turn_their_steps_done() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let now = steps(&app, &s).await;
    let names: Vec<&str> = now.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "connected",
            "stage_found",
            "webhook_registered",
            "delivery_received",
            "role_exists",
            "postings_mapped",
            "first_link"
        ]
    );
    for step in [
        "connected",
        "stage_found",
        "webhook_registered",
        "role_exists",
        "postings_mapped",
    ] {
        assert!(done(&now, step), "{step} not done: {now:?}");
    }
    assert!(
        !done(&now, "delivery_received") && !done(&now, "first_link"),
        "{now:?}"
    );

    let hook = sim
        .webhooks(&s.account)
        .unwrap()
        .into_iter()
        .find(|w| w.event == "candidateStageChange")
        .unwrap();
    sim.test_ping(&s.account, &hook.id).unwrap();
    poll_until(30, "delivery_received done", || async {
        done(&steps(&app, &s).await, "delivery_received").then_some(())
    })
    .await;
    assert!(!done(&steps(&app, &s).await, "first_link"));

    let opp = s.candidates(&sim, 1).remove(0);
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&opp),
        "Arkiter Live: Link Created",
        30,
    )
    .await;
    poll_until(30, "first_link done", || async {
        done(&steps(&app, &s).await, "first_link").then_some(())
    })
    .await;
}
