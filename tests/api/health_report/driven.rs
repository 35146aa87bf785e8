//! The report over what the supervisor itself wrote: a real account worked
//! through the simulator, with Lever failing the way it fails (a refused
//! write, throttling), and the supervisor stopped. Each field the supervisor
//! writes (running, instance, heartbeat, restarts, last success, last error,
//! the error counter, throttling) is produced here for real; `restarts`
//! above zero is produced by a panicking unit in
//! `one_candidate::a_panicking_unit_retries_and_counts_a_restart`.

use arkiter_lever::lever::sim::{FaultAction, FaultRule, SimHandle};
use serde_json::{Value, json};

use super::health;
use crate::helpers::{TestApp, poll_until, spawn_app_with};
use crate::lever_flow::{Scenario, point_at, scenario, wait_for_tag};
use crate::lever_support::start_sim;

const LINK_TAG: &str = "Arkiter Live: Link Created";
const INSTANCE: &str = "health-test-instance";

/// An app on a fresh simulator, with a known instance id, and a connected org.
async fn connected() -> (TestApp, SimHandle, Scenario) {
    let sim = start_sim().await;
    let app = spawn_app_with(|s| {
        point_at(s, &sim);
        s.instance.id = INSTANCE.to_owned();
    })
    .await;
    let s = scenario(&app, &sim).await;
    (app, sim, s)
}

/// Polls the report until `until` holds; returns it.
async fn report_when(
    app: &TestApp,
    s: &Scenario,
    what: &str,
    until: impl Fn(&Value) -> bool,
) -> Value {
    poll_until(30, what, || async {
        let h = health(app, &s.org, &s.key).await;
        until(&h).then_some(h)
    })
    .await
}

#[actix_web::test]
async fn a_working_account_is_healthy_by_what_its_supervisor_wrote() {
    let (app, sim, s) = connected().await;
    let opps = s.candidates(&sim, 1);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    let h = report_when(&app, &s, "a success recorded", |h| {
        h["lever_api"]["last_success_at"].is_string()
    })
    .await;
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["token"]["state"], "valid");
    assert!(h["token"]["expires_at"].is_string() && h["token"]["last_refreshed_at"].is_string());
    assert_eq!(h["webhook"]["managed"], true);
    assert!(h["webhook"]["last_received_at"].is_string(), "{h}");
    assert_eq!(
        h["stage"],
        json!({"id": s.stage, "name": "Arkiter Live", "found": true})
    );
    assert_eq!(
        (
            &h["lever_api"]["last_error"],
            &h["lever_api"]["errors_last_hour"]
        ),
        (&Value::Null, &json!(0))
    );
    assert_eq!(h["lever_api"]["throttled_until"], Value::Null);
    assert_eq!(h["supervisor"]["running"], true, "{h}");
    assert_eq!(h["supervisor"]["instance"], INSTANCE);
    assert!(h["supervisor"]["heartbeat_at"].is_string());
    assert_eq!(h["supervisor"]["restarts"], 0, "no restart happened");
    assert_eq!(h["problems"], json!([]));

    // Stopped: the supervisor records it is no longer running.
    app.registry
        .as_ref()
        .unwrap()
        .do_send(arkiter_lever::pipeline::registry::StopRegistry);
    report_when(&app, &s, "the supervisor recorded as stopped", |h| {
        h["supervisor"]["running"] == false
    })
    .await;
}

#[actix_web::test]
async fn a_refused_write_is_the_last_error_and_counted() {
    let (app, sim, s) = connected().await;
    // Lever refuses the link twice (a 4xx: the job's own failure, retried).
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 403 })
            .times(2)
            .on("POST", "/addLinks"),
    )
    .unwrap();
    let opps = s.candidates(&sim, 1);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    let h = report_when(&app, &s, "two errors and a later success", |h| {
        h["lever_api"]["errors_last_hour"] == 2 && h["lever_api"]["last_success_at"].is_string()
    })
    .await;
    let last = h["lever_api"]["last_error"].as_str().unwrap_or_default();
    assert!(last.contains("403"), "{h}");
    assert_eq!(
        h["lever_api"]["throttled_until"],
        Value::Null,
        "not account-wide"
    );
    assert_eq!(h["status"], "degraded", "errors in the last hour degrade");
}

#[actix_web::test]
async fn throttling_is_reported_until_a_success_clears_it() {
    let (app, sim, s) = connected().await;
    // Lever answers 429 to every link until the fault is cleared.
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 429 }).on("POST", "/addLinks"),
    )
    .unwrap();
    let opps = s.candidates(&sim, 1);
    s.move_to(&sim, &opps, &s.stage);
    let h = report_when(&app, &s, "the account throttled", |h| {
        h["lever_api"]["throttled_until"].is_string()
    })
    .await;
    assert_eq!(h["status"], "degraded", "{h}");
    let last = h["lever_api"]["last_error"].as_str().unwrap_or_default();
    assert!(last.contains("429"), "{h}");
    assert!(
        h["lever_api"]["errors_last_hour"].as_i64().unwrap_or(0) >= 1,
        "{h}"
    );
    sim.clear_faults(&s.account).unwrap();
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 30).await;
    let h = report_when(&app, &s, "the throttle cleared by a success", |h| {
        h["lever_api"]["throttled_until"].is_null() && h["lever_api"]["last_success_at"].is_string()
    })
    .await;
    assert_eq!(h["supervisor"]["running"], true, "{h}");
}
