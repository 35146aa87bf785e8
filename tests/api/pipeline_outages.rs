//! The pipeline when Lever or the account is unwell: a revoked grant pauses
//! the account (nothing lost, nothing dead) until the admin reconnects; a
//! Lever outage pauses it without using up job attempts; and one org's
//! trouble never holds up another's links; a pipeline registry that dies
//! with units in flight is replaced without any unit running twice.

use arkiter_lever::lever::sim::{FaultAction, FaultRule};
use serde_json::json;

use crate::helpers::{count_is, poll_until};
use crate::lever_flow::{scenario, spawn_with_sim, wait_for_tag};

const LINK_TAG: &str = "Arkiter Live: Link Created";
const DONE_TAG: &str = "Arkiter Live: Completed";

#[actix_web::test]
async fn a_revoked_grant_pauses_work_until_reconnect() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 3);
    s.move_to(&sim, &opps[..1], &s.stage);
    wait_for_tag(&sim, &s.account, &opps[..1], LINK_TAG, 30).await;
    let first = app
        .wait_for_interviews(
            s.who(),
            "?status=link_posted",
            "first link_posted",
            count_is(1),
        )
        .await
        .remove(0);
    // A Lever Super Admin revokes the app; then a recruiter moves someone.
    sim.revoke(&s.account).unwrap();
    sim.expire_access_tokens(&s.account).unwrap();
    s.move_to(&sim, &opps[1..2], &s.stage);
    poll_until(30, "needs_reauth", || async {
        let r = app.get_lever(&s.org, &s.key).await;
        (r.body["status"] == "needs_reauth").then_some(())
    })
    .await;
    let view = app.get_lever(&s.org, &s.key).await;
    assert_eq!(
        view.body["problems"][0]["code"], "token_revoked",
        "{}",
        view.body
    );
    // A completion and a further delivery are still accepted while it waits.
    let id = first["id"].as_str().unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/complete", s.org),
            Some(&s.key),
            &json!({"score": 90}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.move_to(&sim, &opps[2..3], &s.stage);
    let events = app
        .wait_for_events(s.who(), "", "three stage events stored", count_is(3))
        .await;
    assert!(events.iter().all(|e| e["status"] != "dead"), "{events:?}");
    // The admin reconnects: everything kept finishes.
    sim.login(&s.account).unwrap();
    let again = app.connect_lever(&s.org, &s.key).await;
    assert_eq!(again.body["connection_status"], "active", "{}", again.body);
    wait_for_tag(&sim, &s.account, &opps[1..], LINK_TAG, 30).await;
    wait_for_tag(&sim, &s.account, &opps[..1], DONE_TAG, 30).await;
    for o in &opps {
        assert_eq!(
            s.live_link_count(&sim, o),
            usize::from(o != &opps[0]),
            "{o}"
        );
    }
}

#[actix_web::test]
async fn a_lever_outage_kills_no_job_and_another_org_keeps_going() {
    let (app, sim) = spawn_with_sim().await;
    let a = scenario(&app, &sim).await;
    // A second org on its own Lever account.
    let b_account = sim.create_account("Other Lever");
    let b_start = sim.add_stage(&b_account, "New applicant").unwrap().id;
    let b_stage = sim.add_stage(&b_account, "Arkiter Live").unwrap().id;
    let b_posting = sim.add_posting(&b_account, "Designer").unwrap().id;
    sim.login(&b_account).unwrap();
    let (b_org, b_key) = app.new_org("Other").await;
    app.post_json(
        &format!("/api/v1/orgs/{b_org}/roles"),
        Some(&b_key),
        &json!({"name": "Any"}),
    )
    .await;
    assert_eq!(
        app.connect_lever(&b_org, &b_key).await.body["connection_status"],
        "active"
    );
    // Lever is down for account A for a while (a shortened "10 minutes").
    let until = chrono::Utc::now().timestamp_millis() + 4_000;
    sim.add_fault(
        &a.account,
        FaultRule::always(FaultAction::Status { status: 503 }).until(until),
    )
    .unwrap();
    let a_opps = a.candidates(&sim, 200);
    a.move_to(&sim, &a_opps, &a.stage);
    // Once Lever is back, A drains its backlog of 200; meanwhile (and during
    // the outage too) org B's moves get their links before A's backlog is
    // through.
    for i in 0..6 {
        if i == 3 {
            poll_until(30, "the outage to end", || async {
                (chrono::Utc::now().timestamp_millis() > until).then_some(())
            })
            .await;
        }
        let o = sim
            .add_opportunity(
                &b_account,
                arkiter_lever::lever::sim::NewOpportunity {
                    id: None,
                    name: Some(format!("B {i}")),
                    contact: None,
                    emails: vec![],
                    stage_id: b_start.clone(),
                    posting_id: Some(b_posting.clone()),
                    tags: vec![],
                },
            )
            .unwrap()
            .id;
        sim.move_opportunities(&b_account, std::slice::from_ref(&o), &b_stage)
            .unwrap();
        wait_for_tag(&sim, &b_account, std::slice::from_ref(&o), LINK_TAG, 30).await;
        // B did not wait for A: when B's link is there, A is still draining
        // (a count of A's candidates, not a clock).
        let a_linked = a_opps
            .iter()
            .filter(|x| a.live_link_count(&sim, x) > 0)
            .count();
        assert!(
            a_linked < a_opps.len(),
            "B's link came after A's whole backlog"
        );
    }
    wait_for_tag(&sim, &a.account, &a_opps, LINK_TAG, 120).await;
    let dead = app.events(&a.org, &a.key, "?status=dead").await;
    assert_eq!(dead.len(), 0, "{dead:?}");
    for o in &a_opps {
        assert_eq!(a.live_link_count(&sim, o), 1);
    }
}

#[actix_web::test]
async fn a_registry_that_dies_with_units_in_flight_runs_no_unit_twice() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let sim = crate::lever_support::start_sim().await;
    let die = Arc::new(AtomicBool::new(false));
    // When the replacement registry first asked (epoch ms; 0: not yet).
    let replaced_at = Arc::new(AtomicI64::new(0));
    let hooks = {
        let (die, replaced_at) = (die.clone(), replaced_at.clone());
        let died = Arc::new(AtomicBool::new(false));
        arkiter_lever::pipeline::hooks::Hooks::none().registry_dies_when(move || {
            if die.swap(false, Ordering::SeqCst) {
                died.store(true, Ordering::SeqCst);
                return true;
            }
            if died.load(Ordering::SeqCst) {
                let now = chrono::Utc::now().timestamp_millis();
                let _ = replaced_at.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
            }
            false
        })
    };
    let app =
        crate::helpers::spawn_app_with_hooks(|s| crate::lever_flow::point_at(s, &sim), hooks).await;
    let s = scenario(&app, &sim).await;
    let hold = FaultRule::always(FaultAction::Latency { ms: 5_000 })
        .on("POST", "/addLinks")
        .times(3);
    sim.add_fault(&s.account, hold).unwrap();
    let opps = s.candidates(&sim, 3);
    s.move_to(&sim, &opps, &s.stage);
    poll_until(30, "three link writes held", || async {
        (sim.in_flight(&s.account).len() == 3).then_some(())
    })
    .await;
    die.store(true, Ordering::SeqCst);
    let replaced_at = poll_until(30, "a new registry", || async {
        let at = replaced_at.load(Ordering::SeqCst);
        (at > 0).then_some(at)
    })
    .await;
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 120).await;
    let calls = sim.calls_for(&s.account);
    for opp in &opps {
        let writes: Vec<_> = calls
            .iter()
            .filter(|c| c.method == "POST" && c.path.contains(opp.as_str()))
            .collect();
        let links: Vec<_> = writes
            .iter()
            .filter(|c| c.path.ends_with("/addLinks"))
            .collect();
        assert_eq!(links.len(), 1, "{writes:#?}");
        assert_eq!(
            writes
                .iter()
                .filter(|c| c.path.ends_with("/addTags"))
                .count(),
            1,
            "{writes:#?}"
        );
        // Whatever reached Lever for it once the new registry ran came after
        // the dead registry's held write landed: its supervisor sent nothing.
        for w in writes.iter().filter(|w| w.received_ms >= replaced_at) {
            assert!(w.received_ms >= links[0].at_ms, "{writes:#?}");
        }
        assert_eq!(s.live_link_count(&sim, opp), 1);
    }
}
