//! End to end through the actor pipeline: a recruiter's move in the simulator
//! → signed webhook → our endpoint → link and tag on the opportunity; then
//! completion → results link, tag swap, one note.

use arkiter_lever::lever::sim::{FaultAction, FaultRule, SimHandle};
use serde_json::{Value, json};

use crate::helpers::{TestApp, count_is, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};

const LINK_TAG: &str = "Arkiter Live: Link Created";
const DONE_TAG: &str = "Arkiter Live: Completed";

async fn interviews(app: &TestApp, s: &Scenario, query: &str) -> Vec<Value> {
    app.interviews(&s.org, &s.key, query).await
}

/// One candidate moved into the stage, linked: its id and its interview.
async fn one_linked(app: &TestApp, sim: &SimHandle, s: &Scenario) -> (Vec<String>, Value) {
    let opp = s.candidates(sim, 1);
    s.move_to(sim, &opp, &s.stage);
    wait_for_tag(sim, &s.account, &opp, LINK_TAG, 30).await;
    let iv = app
        .wait_for_interviews(s.who(), "?status=link_posted", "link_posted", count_is(1))
        .await
        .remove(0);
    (opp, iv)
}

async fn complete(app: &TestApp, s: &Scenario, id: &str, body: Value) -> crate::helpers::Resp {
    app.post_json(
        &format!("/api/v1/orgs/{}/interviews/{id}/complete", s.org),
        Some(&s.key),
        &body,
    )
    .await
}

fn count_calls(sim: &SimHandle, account: &str, suffix: &str) -> usize {
    sim.calls_for(account)
        .iter()
        .filter(|c| c.path.ends_with(suffix) && c.status / 100 == 2)
        .count()
}

#[actix_web::test]
async fn a_move_posts_link_and_tag() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let user = sim
        .add_user(&s.account, "Rita Recruiter", "rita@example.com")
        .unwrap();
    app.patch_lever(&s.org, &s.key, json!({"perform_as": user.id}))
        .await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    let views = wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    let links: Vec<_> = views[0]
        .links
        .iter()
        .filter(|l| l.contains("/live/"))
        .collect();
    assert_eq!(links.len(), 1, "{:?}", views[0].links);
    let ivs = interviews(&app, &s, "").await;
    assert_eq!(ivs.len(), 1);
    let iv = app
        .wait_for_interviews(s.who(), "?status=link_posted", "link_posted", count_is(1))
        .await
        .remove(0);
    assert_eq!(
        (iv["role_name"].as_str(), iv["rule"].as_str()),
        (Some("Backend"), Some("title"))
    );
    assert_eq!(iv["live_url"].as_str(), Some(links[0].as_str()));
    let path = links[0].trim_start_matches(&app.address);
    assert_eq!(app.get(path, None).await.status, 200);
    // Writes carry perform_as; reads need not.
    let writes: Vec<_> = sim
        .calls_for(&s.account)
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.starts_with("/v1/opportunities/"))
        .collect();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert!(
        writes
            .iter()
            .all(|c| c.perform_as.as_deref() == Some(user.id.as_str())),
        "{writes:#?}"
    );
}

#[actix_web::test]
async fn other_stages_cost_no_lever_call_and_duplicates_do_nothing() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    sim.clear_call_log();
    s.move_to(&sim, &opp, &s.other_stage);
    let ev = app
        .wait_for_events(s.who(), "", "the other-stage event stored", count_is(1))
        .await;
    assert_eq!(
        (ev[0]["status"].as_str(), ev[0]["reason"].as_str()),
        (Some("ignored"), Some("other_stage"))
    );
    assert!(
        sim.calls_for(&s.account).is_empty(),
        "{:#?}",
        sim.calls_for(&s.account)
    );
    // The candidate now really is in the stage, but Lever's own delivery is
    // off: the test sends the same signed delivery three times, and a copy
    // re-signed with a new token (as a second webhook of the account would).
    let off = arkiter_lever::lever::sim::AccountPatch {
        webhooks_enabled: Some(false),
        ..Default::default()
    };
    sim.patch_account(&s.account, off).unwrap();
    s.move_to(&sim, &opp, &s.stage);
    let hook = sim.webhooks(&s.account).unwrap().remove(0);
    let token_key = hook.signature_token.clone().unwrap();
    let conn_id = hook.url.rsplit('/').next().unwrap().to_owned();
    let triggered = chrono::Utc::now().timestamp_millis();
    let body = |token: &str| {
        let sig = arkiter_lever::lever::signature::sign(&token_key, token, triggered);
        json!({"event": "candidateStageChange", "triggeredAt": triggered, "token": token, "signature": sig,
               "data": {"opportunityId": opp[0], "toStageId": s.stage, "fromStageId": s.other_stage}})
    };
    let first = body(&"a".repeat(48));
    for _ in 0..3 {
        let r = app
            .post_json(&format!("/webhooks/lever/{conn_id}"), None, &first)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = app
        .post_json(
            &format!("/webhooks/lever/{conn_id}"),
            None,
            &body(&"b".repeat(48)),
        )
        .await;
    assert_eq!(r.status, 200);
    wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    // Give any duplicate a chance to show: wait until the event is settled.
    app.wait_for_events(s.who(), "?status=done", "event done", count_is(1))
        .await;
    assert_eq!(interviews(&app, &s, "").await.len(), 1);
    assert_eq!(count_calls(&sim, &s.account, "/addLinks"), 1);
    assert_eq!(count_calls(&sim, &s.account, "/addTags"), 1);
}

#[actix_web::test]
async fn completion_swaps_link_and_tag_and_leaves_one_note() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (opp, iv) = one_linked(&app, &sim, &s).await;
    let id = iv["id"].as_str().unwrap();
    let live_path = iv["live_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned();
    let result =
        json!({"score": 87, "recommendation": "hire", "summary": "Strong systems design."});
    complete(&app, &s, id, json!({"score": 101}))
        .await
        .assert_error(422, "validation_failed");
    assert_eq!(complete(&app, &s, id, result.clone()).await.status, 202);
    let views = wait_for_tag(&sim, &s.account, &opp, DONE_TAG, 30).await;
    let v = poll_until(30, "results posted", || async {
        let v = sim.opportunity(&s.account, &opp[0]).unwrap();
        (!v.tags.iter().any(|t| t == LINK_TAG) && v.notes.len() == 1).then_some(v)
    })
    .await;
    let _ = views;
    assert_eq!(
        v.links.iter().filter(|l| l.contains("/live/")).count(),
        0,
        "{:?}",
        v.links
    );
    assert_eq!(
        v.links.iter().filter(|l| l.contains("/results/")).count(),
        1,
        "{:?}",
        v.links
    );
    assert!(v.notes[0].value.contains("87") && v.notes[0].value.contains("Strong systems design."));
    let done = app
        .wait_for_interviews(
            s.who(),
            "?status=results_posted",
            "results_posted",
            count_is(1),
        )
        .await
        .remove(0);
    assert!(
        done["results_url"]
            .as_str()
            .is_some_and(|u| v.links.iter().any(|l| l == u))
    );
    assert_eq!(app.get(&live_path, None).await.status, 410);
    // The same completion again: accepted, nothing sent. A different one: 409.
    sim.clear_call_log();
    assert_eq!(complete(&app, &s, id, result.clone()).await.status, 202);
    complete(&app, &s, id, json!({"score": 12}))
        .await
        .assert_error(409, "conflict");
    let cancel = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/cancel", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    cancel.assert_error(409, "conflict");
    // Replaying the done event changes nothing in Lever.
    let ev = app.events(&s.org, &s.key, "?status=done").await;
    let ev_id = ev[0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/events/{ev_id}/replay", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    app.wait_for_events(s.who(), "?status=done", "replay settled", count_is(1))
        .await;
    assert_eq!(interviews(&app, &s, "").await.len(), 1);
    let writes = sim
        .calls_for(&s.account)
        .into_iter()
        .filter(|c| c.method != "GET")
        .count();
    assert_eq!(writes, 0, "{:#?}", sim.calls_for(&s.account));
}

#[actix_web::test]
async fn re_entry_reuses_an_open_interview_and_not_a_completed_one() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = s.candidates(&sim, 1);
    s.move_to(&sim, &opp, &s.stage);
    wait_for_tag(&sim, &s.account, &opp, LINK_TAG, 30).await;
    s.move_to(&sim, &opp, &s.other_stage);
    s.move_to(&sim, &opp, &s.stage);
    app.wait_for_events(s.who(), "", "second entry settled", |items| {
        items.len() == 3 && items.iter().all(|e| e["status"] != "pending")
    })
    .await;
    assert_eq!(interviews(&app, &s, "").await.len(), 1);
    assert_eq!(s.live_link_count(&sim, &opp[0]), 1);
    assert_eq!(count_calls(&sim, &s.account, "/addLinks"), 1);
    let id = interviews(&app, &s, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        complete(&app, &s, &id, json!({"score": 50})).await.status,
        202
    );
    wait_for_tag(&sim, &s.account, &opp, DONE_TAG, 30).await;
    s.move_to(&sim, &opp, &s.other_stage);
    s.move_to(&sim, &opp, &s.stage);
    app.wait_for_interviews(s.who(), "", "a second interview", |ivs| {
        ivs.len() == 2 && ivs.iter().any(|i| i["status"] == "link_posted")
    })
    .await;
    assert_eq!(s.live_link_count(&sim, &opp[0]), 1);
}

#[actix_web::test]
async fn cancel_removes_link_and_tag() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (opp, iv) = one_linked(&app, &sim, &s).await;
    let id = iv["id"].as_str().unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/cancel", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "link and tag removed", || async {
        let v = sim.opportunity(&s.account, &opp[0]).unwrap();
        (v.links.is_empty() && v.tags.is_empty()).then_some(())
    })
    .await;
    let live = iv["live_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.address)
        .to_owned();
    assert_eq!(app.get(&live, None).await.status, 410);
    let again = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/cancel", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    again.assert_error(409, "conflict");
}

#[actix_web::test]
async fn faults_never_duplicate_links_tags_or_notes() {
    // What is tested is idempotence under faults, not pacing: Lever's bucket
    // and ours are ten times the defaults, so 40 candidates' 500-odd calls
    // and their retries take seconds, not a minute.
    let sim = crate::lever_support::start_sim().await;
    let app = crate::helpers::spawn_app_with(|set| {
        crate::lever_flow::point_at(set, &sim);
        set.lever.rate_per_sec = std::num::NonZeroU32::new(100).unwrap();
        set.lever.burst = std::num::NonZeroU32::new(150).unwrap();
    })
    .await;
    let s = scenario(&app, &sim).await;
    sim.patch_account(
        &s.account,
        arkiter_lever::lever::sim::AccountPatch {
            rate_per_sec: Some(100.0),
            rate_capacity: Some(200.0),
            ..Default::default()
        },
    )
    .unwrap();
    let opps = s.candidates(&sim, 40);
    for path in ["/addLinks", "/addTags"] {
        sim.add_fault(
            &s.account,
            FaultRule::always(FaultAction::ApplyThenStatus { status: 502 })
                .times(5)
                .on("POST", path),
        )
        .unwrap();
        sim.add_fault(
            &s.account,
            FaultRule::always(FaultAction::ApplyThenDrop)
                .times(3)
                .on("POST", path),
        )
        .unwrap();
    }
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 503 }).with_probability(0.3),
    )
    .unwrap();
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    let ids: Vec<String> = app
        .wait_for_interviews(
            s.who(),
            "?status=link_posted&limit=200",
            "all link_posted",
            count_is(40),
        )
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::ApplyThenStatus { status: 500 })
            .times(5)
            .on("POST", "/notes"),
    )
    .unwrap();
    for id in &ids {
        assert_eq!(
            complete(&app, &s, id, json!({"score": 70})).await.status,
            202
        );
    }
    poll_until(90, "all results posted", || async {
        let n = interviews(&app, &s, "?status=results_posted&limit=200")
            .await
            .len();
        (n == 40).then_some(())
    })
    .await;
    for o in &opps {
        let v = sim.opportunity(&s.account, o).unwrap();
        assert_eq!(
            v.links.iter().filter(|l| l.contains("/results/")).count(),
            1,
            "{v:?}"
        );
        assert_eq!(
            v.links.iter().filter(|l| l.contains("/live/")).count(),
            0,
            "{v:?}"
        );
        assert_eq!(v.tags, vec![DONE_TAG.to_owned()], "{v:?}");
        assert_eq!(v.notes.len(), 1, "{v:?}");
    }
}

#[actix_web::test]
async fn a_burst_stays_within_the_rate_budget() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 60);
    sim.clear_call_log();
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, LINK_TAG, 60).await;
    let calls: Vec<i64> = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.path.starts_with("/v1/"))
        .map(|c| c.at_ms)
        .collect();
    assert!(sim.calls_for(&s.account).iter().all(|c| c.status != 429));
    // 60 units missing the posting's title at once read it once.
    let posting_reads = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.method == "GET" && c.path.starts_with("/v1/postings/"))
        .count();
    assert_eq!(posting_reads, 1);
    // In every window of w seconds at most burst + rate·w calls (+1 for the
    // simulator stamping answers, not sends).
    for (i, start) in calls.iter().enumerate() {
        for w in [1i64, 2, 5] {
            let n = calls[i..]
                .iter()
                .take_while(|t| **t < start + w * 1000)
                .count() as i64;
            assert!(n <= 15 + 10 * w + 1, "{n} calls in {w}s window");
        }
    }
}
