//! When candidates move on: Lever archives or hires a linked candidate, and
//! the connection's policy closes its interview (the live link and the
//! link-created tag come off, the closed tag goes on, `/live` answers 410)
//! or keeps it. A completion after such a close still lands. Every fact
//! is read from the simulator and the API, never from the clock.

use arkiter_lever::lever::sim::SimHandle;
use serde_json::{Value, json};

use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};
use crate::one_candidate::{act, settled};
use crate::sweep::pipeline::{sweep_and_settle, sweep_now};

const LINK_TAG: &str = "Arkiter Live: Link Created";
const CLOSED_TAG: &str = "Arkiter Live: Closed";
const NOT_HIRED: &str = "archive-underqualified";
const HIRED: &str = "archive-hired";

pub async fn the_interview(app: &TestApp, s: &Scenario, opp: &str) -> Value {
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    items[0].clone()
}

/// A candidate with a posted link, everything settled.
pub async fn linked(app: &TestApp, sim: &SimHandle, s: &Scenario) -> String {
    let opp = s.candidates(sim, 1).remove(0);
    s.move_to(sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(sim, &s.account, std::slice::from_ref(&opp), LINK_TAG, 30).await;
    settled(app).await;
    opp
}

/// Lever calls that changed `opp` (writes), as `METHOD path`.
fn writes_to(sim: &SimHandle, s: &Scenario, opp: &str) -> Vec<String> {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method != "GET" && c.path.contains(opp))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

/// The archive events received for `opp`, once all of them are worked.
async fn archive_events(app: &TestApp, s: &Scenario, opp: &str, n: usize) -> Vec<Value> {
    poll_until(30, "the archive deliveries worked", || async {
        let r = app.list_events(&s.org, "?limit=200", Some(&s.key)).await;
        let items: Vec<Value> = r.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["opportunity_id"] == opp)
            .filter(|e| e["event"] == "candidateArchiveChange" || e["event"] == "candidateHired")
            .collect();
        let worked = items
            .iter()
            .all(|e| e["status"] != "pending" && e["status"] != "retrying");
        (items.len() >= n && worked).then_some(items)
    })
    .await
}

/// Whole hours from now until the interview's `expires_at`.
fn hours_to_expiry(iv: &Value) -> i64 {
    let expires = chrono::DateTime::parse_from_rfc3339(iv["expires_at"].as_str().unwrap()).unwrap();
    (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours()
}

async fn live_status(app: &TestApp, iv: &Value) -> u16 {
    let url = iv["live_url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap();
    app.get(&format!("/live/{token}"), None).await.status
}

#[actix_web::test]
async fn archiving_closes_the_interview_and_a_later_completion_still_lands() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(live_status(&app, &iv).await, 200);

    sim.archive(&s.account, &opp, Some(NOT_HIRED)).unwrap();
    let shown = wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), CLOSED_TAG, 30)
        .await
        .remove(0);
    settled(&app).await;
    assert_eq!(s.live_link_count(&sim, &opp), 0, "{shown:?}");
    assert!(!shown.tags.iter().any(|t| t == LINK_TAG), "{shown:?}");
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(iv["status"], "cancelled", "{iv}");
    assert_eq!(iv["close_reason"], "archived", "{iv}");
    assert!(!iv["closed_at"].is_null(), "{iv}");
    assert_eq!(live_status(&app, &iv).await, 410);
    // The health report shows each event's webhook, and that archives came.
    let report = crate::health_report::health(&app, &s.org, &s.key).await;
    let hooks = report["webhooks"].as_array().unwrap();
    let of = |event: &str| hooks.iter().find(|h| h["event"] == event).unwrap().clone();
    for event in [
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateHired",
    ] {
        assert_eq!(of(event)["present"], true, "{report}");
        assert_eq!(of(event)["managed"], true, "{report}");
    }
    assert!(
        of("candidateArchiveChange")["last_received_at"].is_string(),
        "{report}"
    );
    assert!(
        of("candidateHired")["last_received_at"].is_null(),
        "{report}"
    );

    // Unarchiving reopens nothing.
    sim.clear_call_log();
    sim.archive(&s.account, &opp, None).unwrap();
    let events = archive_events(&app, &s, &opp, 2).await;
    assert!(
        events.iter().any(|e| e["reason"] == "no_interview"),
        "{events:?}"
    );
    assert_eq!(writes_to(&sim, &s, &opp), Vec::<String>::new());
    assert_eq!(s.live_link_count(&sim, &opp), 0);

    // The platform reports the interview done after the archive: accepted,
    // and Lever gets the results link, the completed tag and the note.
    let id = iv["id"].as_str().unwrap();
    let r = act(
        &app,
        &s,
        id,
        "complete",
        json!({"score": 91, "summary": "Solid"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let done = wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&opp),
        "Arkiter Live: Completed",
        30,
    )
    .await
    .remove(0);
    settled(&app).await;
    let done = sim.opportunity(&s.account, &opp).unwrap_or(done);
    assert!(
        done.links.iter().any(|l| l.contains("/results/")),
        "{done:?}"
    );
    assert_eq!(s.live_link_count(&sim, &opp), 0, "{done:?}");
    assert_eq!(done.notes.len(), 1, "{done:?}");
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(iv["status"], "results_posted", "{iv}");
    assert_eq!(iv["close_reason"], "archived", "{iv}");
    // The same result again changes nothing; an admin cancel now is refused.
    let again = act(
        &app,
        &s,
        id,
        "complete",
        json!({"score": 91, "summary": "Solid"}),
    )
    .await;
    assert_eq!(again.status, 202, "{}", again.body);
}

#[actix_web::test]
async fn with_keep_an_archive_changes_nothing_in_lever() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let r = app
        .patch_lever(
            &s.org,
            &s.key,
            json!({"lifecycle": {"on_archive": "keep", "on_hired": "keep"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["lifecycle"]["on_archive"], "keep", "{}", r.body);
    let opp = linked(&app, &sim, &s).await;
    sim.clear_call_log();
    sim.archive(&s.account, &opp, Some(NOT_HIRED)).unwrap();
    let events = archive_events(&app, &s, &opp, 1).await;
    assert_eq!(events[0]["status"], "ignored", "{events:?}");
    assert_eq!(events[0]["reason"], "policy_keep", "{events:?}");
    // Not even a read: the policy decided before Lever was asked.
    let calls: Vec<String> = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.path.contains(opp.as_str()))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(calls, Vec::<String>::new());
    assert_eq!(s.live_link_count(&sim, &opp), 1);
    assert_eq!(the_interview(&app, &s, &opp).await["status"], "link_posted");
}

#[actix_web::test]
async fn a_hire_follows_on_hired_and_an_archive_follows_on_archive() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"on_hired": "keep"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hired = linked(&app, &sim, &s).await;
    sim.clear_call_log();
    sim.archive(&s.account, &hired, Some(HIRED)).unwrap();
    // Both the archive change and the hired delivery arrive; neither closes.
    let events = archive_events(&app, &s, &hired, 2).await;
    assert!(
        events.iter().all(|e| e["reason"] == "policy_keep"),
        "{events:?}"
    );
    assert_eq!(writes_to(&sim, &s, &hired), Vec::<String>::new());
    assert_eq!(s.live_link_count(&sim, &hired), 1);
    assert_eq!(
        the_interview(&app, &s, &hired).await["status"],
        "link_posted"
    );

    // Now hires close, and a plain archive still does (the default).
    let r = app
        .patch_lever(
            &s.org,
            &s.key,
            json!({"lifecycle": {"on_hired": "close"}, "tags": {"closed": "Moved on"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let next = linked(&app, &sim, &s).await;
    sim.archive(&s.account, &next, Some(HIRED)).unwrap();
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&next),
        "Moved on",
        30,
    )
    .await;
    settled(&app).await;
    let iv = the_interview(&app, &s, &next).await;
    assert_eq!(iv["close_reason"], "hired", "{iv}");
    assert_eq!(s.live_link_count(&sim, &next), 0);
    // Exactly one close, though two deliveries came.
    let tags = writes_to(&sim, &s, &next)
        .into_iter()
        .filter(|c| c.ends_with("/addTags"))
        .count();
    assert_eq!(tags, 2, "the link-created tag, then the closed tag once");
}

#[actix_web::test]
async fn a_completed_interview_is_never_closed() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    let id = the_interview(&app, &s, &opp).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = act(&app, &s, &id, "complete", json!({"score": 40})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&opp),
        "Arkiter Live: Completed",
        30,
    )
    .await;
    settled(&app).await;
    sim.clear_call_log();
    sim.archive(&s.account, &opp, Some(NOT_HIRED)).unwrap();
    let events = archive_events(&app, &s, &opp, 1).await;
    assert_eq!(events[0]["reason"], "no_interview", "{events:?}");
    assert_eq!(writes_to(&sim, &s, &opp), Vec::<String>::new());
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(iv["status"], "results_posted", "{iv}");
    assert!(iv["close_reason"].is_null(), "{iv}");
}

#[actix_web::test]
async fn an_admin_cancel_still_refuses_a_completion() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    let id = the_interview(&app, &s, &opp).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(act(&app, &s, &id, "cancel", json!({})).await.status, 202);
    let r = act(&app, &s, &id, "complete", json!({"score": 40})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(the_interview(&app, &s, &opp).await["close_reason"], "admin");
}

#[actix_web::test]
async fn reconnecting_twice_leaves_one_webhook_per_event() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    for _ in 0..2 {
        let done = app.connect_lever(&s.org, &s.key).await;
        assert_eq!(done.body["connection_status"], "active", "{}", done.body);
    }
    let mut events: Vec<String> = sim
        .webhooks(&s.account)
        .unwrap()
        .into_iter()
        .map(|w| w.event)
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "candidateArchiveChange",
            "candidateDeleted",
            "candidateHired",
            "candidateStageChange"
        ]
    );
    let r = app.get_lever(&s.org, &s.key).await;
    let listed = r.body["webhooks"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "{}", r.body);
    assert!(listed.iter().all(|w| w["managed"] == true), "{}", r.body);
}

#[actix_web::test]
async fn lifecycle_settings_are_checked() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let before = app.get_lever(&s.org, &s.key).await.body;
    assert_eq!(
        before["lifecycle"],
        json!({"on_archive": "close", "on_hired": "close", "on_stage_exit": "keep", "link_ttl_days": null})
    );
    assert_eq!(before["tags"]["closed"], CLOSED_TAG);
    for (body, field) in [
        (
            json!({"lifecycle": {"on_archive": "sometimes"}}),
            "lifecycle.on_archive",
        ),
        (
            json!({"lifecycle": {"link_ttl_days": 0}}),
            "lifecycle.link_ttl_days",
        ),
        (
            json!({"lifecycle": {"link_ttl_days": 366}}),
            "lifecycle.link_ttl_days",
        ),
        (json!({"tags": {"closed": ""}}), "tags.closed"),
    ] {
        let r = app.patch_lever(&s.org, &s.key, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert!(r.body.to_string().contains(field), "{body}: {}", r.body);
    }
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"bulk_close": true}}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(app.get_lever(&s.org, &s.key).await.body, before);
    let r = app
        .patch_lever(
            &s.org,
            &s.key,
            json!({"tags": {"closed": null}, "lifecycle": {"link_ttl_days": 30}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["tags"]["closed"].is_null(), "{}", r.body);
    assert_eq!(r.body["lifecycle"]["link_ttl_days"], 30);
    assert_eq!(r.body["lifecycle"]["on_archive"], "close");
}

/// Without `archive_reasons:read:admin` (a grant from before it was asked
/// for) the simulator refuses the list, and the reason's type is unknown.
#[actix_web::test]
async fn archive_reasons_need_their_scope() {
    use arkiter_lever::lever::sim::SeededGrant;
    let sim = crate::lever_support::start_sim().await;
    let account = sim.create_account("Old grant");
    let client = awc::Client::default();
    let mut answers = Vec::new();
    for (token, scope) in [
        ("old", "offline_access opportunities:write:admin"),
        ("new", "offline_access archive_reasons:read:admin"),
    ] {
        sim.grant_tokens(
            &account,
            &SeededGrant {
                client_id: "c".into(),
                scope: scope.into(),
                access_token: token.into(),
                access_ttl_ms: 60_000,
                refresh_token: format!("r-{token}"),
            },
        )
        .unwrap();
        let mut r = client
            .get(format!("{}/archive_reasons", sim.api_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        answers.push((r.status().as_u16(), body));
    }
    assert_eq!(answers[0].0, 403, "{:?}", answers[0].1);
    assert_eq!(answers[1].0, 200, "{:?}", answers[1].1);
    let types: Vec<&str> = answers[1].1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"hired") && types.contains(&"non-hired"),
        "{types:?}"
    );
}

#[actix_web::test]
async fn leaving_the_stage_closes_only_under_on_stage_exit_close() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    // The default `keep`: a move out costs no Lever call at all.
    let kept = linked(&app, &sim, &s).await;
    sim.clear_call_log();
    s.move_to(&sim, std::slice::from_ref(&kept), &s.other_stage);
    let moved = poll_until(30, "the move out stored", || async {
        let r = app.list_events(&s.org, "?limit=200", Some(&s.key)).await;
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["opportunity_id"] == kept && e["to_stage_id"] == s.other_stage.as_str())
            .cloned()
    })
    .await;
    assert_eq!(
        (moved["status"].as_str(), moved["reason"].as_str()),
        (Some("ignored"), Some("other_stage"))
    );
    assert!(sim.calls_for(&s.account).is_empty());
    assert_eq!(s.live_link_count(&sim, &kept), 1);
    // A corpus of such moves (P1's shape: signed deliveries out of the
    // stage into another), 50 of them: all ignored, still no Lever call.
    let at = chrono::Utc::now().timestamp_millis();
    for i in 0..50 {
        let token = format!("{i:03}{}", "p".repeat(40));
        let data = json!({"opportunityId": format!("corpus-{i}"),
            "toStageId": s.other_stage, "fromStageId": s.stage});
        let (conn, body) = crate::one_candidate::signed_delivery(
            &sim,
            &s,
            "candidateStageChange",
            &token,
            at,
            data,
        );
        let r = app.post_webhook(&conn, &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM lever_events WHERE opportunity_id LIKE 'corpus-%' \
             AND status = 'ignored' AND reason = 'other_stage'"
        ),
        50
    );
    assert!(sim.calls_for(&s.account).is_empty());

    let r = app
        .patch_lever(
            &s.org,
            &s.key,
            json!({"lifecycle": {"on_stage_exit": "close"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let leaving = linked(&app, &sim, &s).await;
    s.move_to(&sim, std::slice::from_ref(&leaving), &s.other_stage);
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&leaving),
        CLOSED_TAG,
        30,
    )
    .await;
    settled(&app).await;
    assert_eq!(s.live_link_count(&sim, &leaving), 0);
    let iv = the_interview(&app, &s, &leaving).await;
    assert_eq!(
        (iv["status"].as_str(), iv["close_reason"].as_str()),
        (Some("cancelled"), Some("left_stage")),
        "{iv}"
    );
    assert_eq!(live_status(&app, &iv).await, 410);
    // The one kept open before stays open: a change applies from then on.
    assert_eq!(
        the_interview(&app, &s, &kept).await["status"],
        "link_posted"
    );
}

#[actix_web::test]
async fn a_sweep_closes_an_archive_lever_did_not_deliver() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    // The Super Admin turned the webhook groups off: the archive is never
    // delivered.
    sim.set_webhooks_enabled(&s.account, false).unwrap();
    sim.archive(&s.account, &opp, Some(NOT_HIRED)).unwrap();
    assert!(
        !sim.deliveries(&s.account)
            .unwrap()
            .iter()
            .any(|d| d.event == "candidateArchiveChange"),
        "nothing delivered"
    );
    sweep_now(&app, &s).await;
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), CLOSED_TAG, 30).await;
    settled(&app).await;
    assert_eq!(s.live_link_count(&sim, &opp), 0);
    let iv = the_interview(&app, &s, &opp).await;
    assert_eq!(iv["close_reason"], "archived", "{iv}");
    let events = archive_events(&app, &s, &opp, 1).await;
    assert_eq!(
        (events[0]["source"].as_str(), events[0]["status"].as_str()),
        (Some("sweep"), Some("done")),
        "{events:?}"
    );
    // The next sweep finds nothing more to do for it.
    sweep_and_settle(&app, &sim, &s).await;
    assert_eq!(archive_events(&app, &s, &opp, 1).await.len(), 1);
}

/// 2,000 open interviews whose candidates sit in another stage: a sweep
/// costs the stage listing plus at most 5 calls, and reads no single
/// opportunity.
#[actix_web::test]
async fn reconciling_two_thousand_open_interviews_costs_a_few_calls() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let conn = app.get_lever(&s.org, &s.key).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let opps: Vec<String> = (0..2_000)
        .map(|i| {
            sim.add_opportunity(
                &s.account,
                arkiter_lever::lever::sim::NewOpportunity {
                    id: Some(format!("idle-{i}")),
                    name: None,
                    contact: None,
                    emails: vec![],
                    stage_id: s.other_stage.clone(),
                    posting_id: None,
                    tags: vec![],
                },
            )
            .unwrap()
            .id
        })
        .collect();
    assert_eq!(opps.len(), 2_000);
    app.count(&format!(
        "WITH made AS (INSERT INTO interviews (id, org_id, connection_id, opportunity_id, rule, \
           status, live_token, results_token, link_posted_at) \
         SELECT gen_random_uuid(), '{org}', '{conn}', 'idle-' || i, 'title', 'link_posted', \
           md5('live' || i), md5('results' || i), now() FROM generate_series(0, 1999) i \
         RETURNING 1) SELECT count(*) AS n FROM made",
        org = s.org
    ));
    sim.clear_call_log();
    sweep_now(&app, &s).await;
    let calls = poll_until(30, "the sweep", || async {
        let calls: Vec<String> = sim
            .calls_for(&s.account)
            .iter()
            .map(|c| format!("{} {}?{}", c.method, c.path, c.query))
            .collect();
        calls
            .iter()
            .any(|c| c.starts_with("GET /v1/webhooks"))
            .then_some(calls)
    })
    .await;
    let beyond_listing: Vec<&String> = calls
        .iter()
        .filter(|c| !c.contains(&format!("stage_id={}", s.stage)))
        .collect();
    assert!(beyond_listing.len() <= 5, "{beyond_listing:#?}");
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("/v1/opportunities/") || c.contains("/v1/opportunities/deleted?")),
        "no single opportunity read: {calls:#?}"
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM interviews WHERE status = 'link_posted'"),
        2_000
    );
}

const EXPIRED_TAG: &str = "Arkiter Live: Expired";

#[actix_web::test]
async fn an_unopened_link_expires_an_opened_one_never_and_a_new_entry_starts_afresh() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"link_ttl_days": 3}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let unopened = linked(&app, &sim, &s).await;
    let opened = linked(&app, &sim, &s).await;
    let iv = the_interview(&app, &s, &unopened).await;
    let days = hours_to_expiry(&iv);
    assert!((71..=72).contains(&days), "{iv}");
    assert!(iv["opened_at"].is_null(), "{iv}");
    // The platform resolves the other one's link: the candidate opened it.
    let seen = the_interview(&app, &s, &opened).await;
    let token = seen["live_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let r = app
        .get(&format!("/api/v1/live/{token}"), Some(&app.admin()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!the_interview(&app, &s, &opened).await["opened_at"].is_null());

    // Three days pass (backdated), and anything wakes the account.
    app.count(
        "WITH b AS (UPDATE interview_links SET expires_at = now() - interval '1 minute' \
         RETURNING 1) SELECT count(*) AS n FROM b",
    );
    sweep_now(&app, &s).await;
    let shown = wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&unopened),
        EXPIRED_TAG,
        30,
    )
    .await
    .remove(0);
    settled(&app).await;
    assert!(!shown.tags.iter().any(|t| t == LINK_TAG), "{shown:?}");
    assert_eq!(s.live_link_count(&sim, &unopened), 0);
    let iv = the_interview(&app, &s, &unopened).await;
    assert_eq!(
        (iv["status"].as_str(), iv["close_reason"].as_str()),
        (Some("cancelled"), Some("expired")),
        "{iv}"
    );
    assert_eq!(live_status(&app, &iv).await, 410);
    // The opened one, due at the same time, stays open.
    assert_eq!(
        the_interview(&app, &s, &opened).await["status"],
        "link_posted"
    );
    assert_eq!(s.live_link_count(&sim, &opened), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE kind = 'expire'"),
        1
    );

    // Back into the stage: a new interview and link, and the old expired
    // tag comes off.
    s.move_to(&sim, std::slice::from_ref(&unopened), &s.other_stage);
    s.move_to(&sim, std::slice::from_ref(&unopened), &s.stage);
    s.wait_for_links(&sim, std::slice::from_ref(&unopened), 1)
        .await;
    settled(&app).await;
    let view = sim.opportunity(&s.account, &unopened).unwrap();
    assert!(!view.tags.iter().any(|t| t == EXPIRED_TAG), "{view:?}");
    assert!(view.tags.iter().any(|t| t == LINK_TAG), "{view:?}");
    let r = app
        .get(
            &format!(
                "/api/v1/orgs/{}/interviews?opportunity_id={unopened}",
                s.org
            ),
            Some(&s.key),
        )
        .await;
    let statuses: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["link_posted", "cancelled"], "{}", r.body);
}

#[actix_web::test]
async fn a_closed_interview_is_re_invited_only_while_the_candidate_is_in_the_stage() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let opp = linked(&app, &sim, &s).await;
    let first = the_interview(&app, &s, &opp).await;
    let id = first["id"].as_str().unwrap().to_owned();
    // Open: nothing to re-invite.
    let r = act(&app, &s, &id, "reinvite", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(act(&app, &s, &id, "cancel", json!({})).await.status, 202);
    wait_until_no_live_link(&sim, &s, &opp).await;
    settled(&app).await;

    let r = act(&app, &s, &id, "reinvite", json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_for_links(&sim, std::slice::from_ref(&opp), 1).await;
    settled(&app).await;
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/interviews?opportunity_id={opp}", s.org),
            Some(&s.key),
        )
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.body);
    assert_eq!(items[0]["status"], "link_posted");
    assert_ne!(items[0]["live_url"], first["live_url"]);
    assert_eq!(s.live_link_count(&sim, &opp), 1);
    // The closed one again, while the new one is open: a conflict.
    let r = act(&app, &s, &id, "reinvite", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.body);

    // A candidate who left the stage is not re-invited.
    let other = linked(&app, &sim, &s).await;
    let oid = the_interview(&app, &s, &other).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(act(&app, &s, &oid, "cancel", json!({})).await.status, 202);
    wait_until_no_live_link(&sim, &s, &other).await;
    settled(&app).await;
    s.move_to(&sim, std::slice::from_ref(&other), &s.other_stage);
    let r = act(&app, &s, &oid, "reinvite", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "conflict", "{}", r.body);
    // Another org's key never sees it.
    let (_, stranger) = app.new_org("Elsewhere").await;
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{oid}/reinvite", s.org),
            Some(&stranger),
            &json!({}),
        )
        .await;
    assert!(r.status == 403 || r.status == 404, "{}", r.body);
}

async fn wait_until_no_live_link(sim: &SimHandle, s: &Scenario, opp: &str) {
    poll_until(30, "the live link off", || async {
        (s.live_link_count(sim, opp) == 0).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn an_export_holds_everything_of_the_candidate_and_nothing_of_another() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let a = linked(&app, &sim, &s).await;
    let b = linked(&app, &sim, &s).await;
    let id = the_interview(&app, &s, &a).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = act(
        &app,
        &s,
        &id,
        "complete",
        json!({"score": 64, "summary": "Solid"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&a),
        "Arkiter Live: Completed",
        30,
    )
    .await;
    sim.archive(&s.account, &a, Some(NOT_HIRED)).unwrap();
    archive_events(&app, &s, &a, 1).await;
    settled(&app).await;

    let path = format!("/api/v1/orgs/{}/candidates/{a}/export", s.org);
    let r = app.get(&path, Some(&s.key)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = &r.body;
    assert_eq!(doc["opportunity_id"], a.as_str());
    let ivs = doc["interviews"].as_array().unwrap();
    assert_eq!(ivs.len(), 1, "{doc}");
    assert_eq!(ivs[0]["result"]["score"], 64.0, "{doc}");
    let events: Vec<&str> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"candidateStageChange"), "{events:?}");
    assert!(events.contains(&"candidateArchiveChange"), "{events:?}");
    assert!(
        doc["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["payload"]["data"]["opportunityId"] == a.as_str()),
        "{doc}"
    );
    let kinds: Vec<&str> = doc["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["complete"], "{doc}");
    assert!(!doc.to_string().contains(b.as_str()), "{doc}");

    // Unknown, a member, another org: refused, nothing shown.
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/candidates/nobody/export", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let member = app
        .post_json(
            &format!("/api/v1/orgs/{}/keys", s.org),
            Some(&s.key),
            &json!({"role": "member", "label": "reader"}),
        )
        .await;
    let member = member.body["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&path, Some(&member)).await.status, 403);
    let (_, stranger) = app.new_org("Elsewhere").await;
    let r = app.get(&path, Some(&stranger)).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.body);
    assert!(!r.body.to_string().contains(a.as_str()));
}

/// The scopes a connection made before the lifecycle work was granted.
const OLD_SEVEN: [&str; 2] = ["confidential:access:admin", "archive_reasons:read:admin"];

#[actix_web::test]
async fn a_confidential_candidate_is_linked_with_the_scope_and_dead_without_it() {
    use arkiter_lever::lever::sim::AccountPatch;
    // With the scope (what connecting asks for now): linked, and found by
    // a sweep when Lever did not deliver.
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let secret = s.candidates(&sim, 2);
    for o in &secret {
        sim.set_confidential(&s.account, o, true).unwrap();
    }
    s.move_to(&sim, &secret[..1], &s.stage);
    sim.move_without_delivery(&s.account, &secret[1..], &s.stage)
        .unwrap();
    sweep_now(&app, &s).await;
    wait_for_tag(&sim, &s.account, &secret, LINK_TAG, 30).await;
    let listed = sim
        .calls_for(&s.account)
        .iter()
        .any(|c| c.path == "/v1/opportunities" && c.query.contains("confidentiality=all"));
    assert!(listed, "the sweep asked for confidential candidates too");

    // A grant from before (the old seven scopes): the others are linked
    // and swept as before; a confidential one is dead, and the health
    // page says which scope to grant.
    let (app, sim) = spawn_with_sim().await;
    let account = sim.create_account("Old consent");
    sim.patch_account(
        &account,
        AccountPatch {
            withheld_scopes: Some(OLD_SEVEN.map(str::to_owned).to_vec()),
            ..Default::default()
        },
    )
    .unwrap();
    let s = crate::lever_flow::scenario_on(&app, &sim, account).await;
    let scopes = app.get_lever(&s.org, &s.key).await.body["scopes"].clone();
    assert!(!scopes.to_string().contains("confidential"), "{scopes}");
    let opps = s.candidates(&sim, 3);
    sim.set_confidential(&s.account, &opps[0], true).unwrap();
    s.move_to(&sim, &opps[..2], &s.stage);
    sim.move_without_delivery(&s.account, &opps[2..], &s.stage)
        .unwrap();
    sweep_now(&app, &s).await;
    wait_for_tag(&sim, &s.account, &opps[1..], LINK_TAG, 30).await;
    let dead = poll_until(30, "the confidential one dead", || async {
        let r = app.list_events(&s.org, "?status=dead", Some(&s.key)).await;
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["opportunity_id"] == opps[0].as_str())
            .cloned()
    })
    .await;
    assert_eq!(dead["reason"], "confidential", "{dead}");
    assert!(
        sim.calls_for(&s.account)
            .iter()
            .all(|c| !c.query.contains("confidentiality")),
        "never asked for confidential data without the scope"
    );
    let health = crate::health_report::health(&app, &s.org, &s.key).await;
    assert!(
        health.to_string().contains("confidential_hidden"),
        "{health}"
    );
}

/// The problem a setting whose scope the grant lacks raises: "connect
/// again" when connecting asks for the scope, "ask the operator" when
/// `LEVER_SCOPES` leaves it out. The setting is stored either way.
#[actix_web::test]
async fn a_setting_needing_a_scope_not_granted_is_reported_scope_missing() {
    use crate::health_report::{codes, health};
    use arkiter_lever::lever::sim::AccountPatch;
    let problem = |report: &Value| {
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == "scope_missing")
            .map(|p| p["message"].as_str().unwrap().to_owned())
    };
    // Connect asks for it; the Super Admin's consent left it out.
    let (app, sim) = spawn_with_sim().await;
    let account = sim.create_account("Partial consent");
    sim.patch_account(
        &account,
        AccountPatch {
            withheld_scopes: Some(vec!["archive_reasons:read:admin".to_owned()]),
            ..Default::default()
        },
    )
    .unwrap();
    let s = crate::lever_flow::scenario_on(&app, &sim, account).await;
    assert_eq!(problem(&health(&app, &s.org, &s.key).await), None);
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"on_hired": "keep"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["lifecycle"]["on_hired"], "keep",
        "stored: {}",
        r.body
    );
    let report = health(&app, &s.org, &s.key).await;
    let message = problem(&report).unwrap_or_else(|| panic!("{:?}", codes(&report)));
    assert!(
        message.contains("archive_reasons:read:admin") && message.contains("connecting again"),
        "{message}"
    );
    // Both policies alike: the type of a reason does not matter any more.
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"on_archive": "keep"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(problem(&health(&app, &s.org, &s.key).await), None);

    // The operator's LEVER_SCOPES leaves it out: connect does not ask.
    let sim = crate::lever_support::start_sim().await;
    let app = crate::helpers::spawn_app_with(|st| {
        crate::lever_flow::point_at(st, &sim);
        st.lever.scopes = arkiter_lever::lever::CORE_SCOPES.join(" ");
    })
    .await;
    let s = scenario(&app, &sim).await;
    let scopes = app.get_lever(&s.org, &s.key).await.body["scopes"].to_string();
    assert!(!scopes.contains("archive_reasons"), "{scopes}");
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"on_archive": "keep"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let message = problem(&health(&app, &s.org, &s.key).await).unwrap();
    assert!(message.contains("LEVER_SCOPES"), "{message}");
}

/// A role's own `link_ttl_days` wins over the connection's, for links
/// posted from then on; bad values are refused and change nothing.
#[actix_web::test]
async fn a_roles_own_link_ttl_wins_over_the_connections() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let r = app
        .patch_lever(&s.org, &s.key, json!({"lifecycle": {"link_ttl_days": 10}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let roles = app
        .get(&format!("/api/v1/orgs/{}/roles", s.org), Some(&s.key))
        .await;
    let role = roles.body["items"][0].clone();
    assert_eq!(role["link_ttl_days"], Value::Null, "{role}");
    let path = format!(
        "/api/v1/orgs/{}/roles/{}",
        s.org,
        role["id"].as_str().unwrap()
    );
    for bad in [json!(0), json!(366), json!("3")] {
        let r = app
            .request(
                "PATCH",
                &path,
                Some(&s.key),
                Some((
                    "application/json",
                    json!({"link_ttl_days": bad}).to_string().into_bytes(),
                )),
            )
            .await;
        assert!(
            r.status == 422 || r.status == 400,
            "{bad}: {} {}",
            r.status,
            r.body
        );
    }
    let patch = |v: Value| {
        let body = json!({"link_ttl_days": v}).to_string().into_bytes();
        let (app, path, key) = (&app, path.clone(), s.key.clone());
        async move {
            app.request("PATCH", &path, Some(&key), Some(("application/json", body)))
                .await
        }
    };
    let r = patch(json!(3)).await;
    assert_eq!(
        (r.status, r.body["link_ttl_days"].clone()),
        (200, json!(3)),
        "{}",
        r.body
    );

    let opp = linked(&app, &sim, &s).await;
    let iv = the_interview(&app, &s, &opp).await;
    let hours = hours_to_expiry(&iv);
    assert!((71..=72).contains(&hours), "the role's 3 days: {iv}");

    // Null: the connection's 10 days again, for the next link.
    let r = patch(Value::Null).await;
    assert_eq!(
        (r.status, r.body["link_ttl_days"].clone()),
        (200, Value::Null),
        "{}",
        r.body
    );
    let next = linked(&app, &sim, &s).await;
    let iv = the_interview(&app, &s, &next).await;
    let hours = hours_to_expiry(&iv);
    assert!(
        (239..=240).contains(&hours),
        "the connection's 10 days: {iv}"
    );
}

/// A move out of the stage Lever did not deliver: under `on_stage_exit:
/// close` the next sweep finds the candidate gone from the stage since the
/// previous sweep and closes the interview (one read for it); under `keep`
/// it reads no one.
#[actix_web::test]
async fn a_sweep_closes_a_move_out_lever_did_not_deliver() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let stays = linked(&app, &sim, &s).await;
    let leaves = linked(&app, &sim, &s).await;
    let kept = linked(&app, &sim, &s).await;
    // The first sweep sees all three in the stage.
    sweep_and_settle(&app, &sim, &s).await;
    sim.set_webhooks_enabled(&s.account, false).unwrap();
    // Under `keep`: the move goes unnoticed, and no one is read.
    sim.move_without_delivery(&s.account, std::slice::from_ref(&kept), &s.other_stage)
        .unwrap();
    sweep_and_settle(&app, &sim, &s).await;
    assert!(
        sim.calls_for(&s.account)
            .iter()
            .all(|c| !c.path.starts_with("/v1/opportunities/") || c.path.ends_with("/deleted")),
        "{:?}",
        sim.calls_for(&s.account)
    );
    assert_eq!(
        the_interview(&app, &s, &kept).await["status"],
        "link_posted"
    );

    let r = app
        .patch_lever(
            &s.org,
            &s.key,
            json!({"lifecycle": {"on_stage_exit": "close"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    sim.move_without_delivery(&s.account, std::slice::from_ref(&leaves), &s.other_stage)
        .unwrap();
    sweep_and_settle(&app, &sim, &s).await;
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&leaves),
        CLOSED_TAG,
        30,
    )
    .await;
    settled(&app).await;
    let iv = the_interview(&app, &s, &leaves).await;
    assert_eq!(
        (iv["status"].as_str(), iv["close_reason"].as_str()),
        (Some("cancelled"), Some("left_stage")),
        "{iv}"
    );
    assert_eq!(s.live_link_count(&sim, &leaves), 0);
    // Only the one who left since the previous sweep: the candidate who
    // left while the policy kept, and the one still in the stage, stay.
    assert_eq!(
        the_interview(&app, &s, &kept).await["status"],
        "link_posted"
    );
    assert_eq!(
        the_interview(&app, &s, &stays).await["status"],
        "link_posted"
    );
    let reads: Vec<String> = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.method == "GET" && c.path.starts_with("/v1/opportunities/"))
        .filter(|c| !c.path.ends_with("/deleted"))
        .map(|c| c.path.clone())
        .collect();
    assert!(reads.iter().all(|p| p.contains(&leaves)), "{reads:?}");
    // The next sweep finds nothing more.
    let events = |app: &TestApp| {
        app.count("SELECT count(*) AS n FROM lever_events WHERE token LIKE 'sweep-exit:%'")
    };
    assert_eq!(events(&app), 1);
    sweep_and_settle(&app, &sim, &s).await;
    assert_eq!(events(&app), 1);
}

/// A connection made before the lifecycle webhooks (only the stage-change
/// one registered): the next sweep registers them all, once; a sweep
/// after that finds them present and changes nothing.
#[actix_web::test]
async fn a_sweep_adds_the_lifecycle_webhooks_an_old_connection_lacks() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    // Back to what connecting registered before: the stage change only.
    for hook in sim.webhooks(&s.account).unwrap() {
        if hook.event != "candidateStageChange" {
            sim.delete_webhook(&s.account, &hook.id).unwrap();
        }
    }
    app.count(
        "WITH gone AS (UPDATE lever_webhooks SET deleted_at = now() \
         WHERE event <> 'candidateStageChange' AND deleted_at IS NULL RETURNING 1) \
         SELECT count(*) AS n FROM gone",
    );
    let present = |report: &Value| -> Vec<bool> {
        report["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["present"] == true)
            .collect()
    };
    let report = crate::health_report::health(&app, &s.org, &s.key).await;
    assert_eq!(present(&report), [true, false, false, false], "{report}");

    // The sweep asked for now registers them (a sweep that started before
    // the change saw the old set and leaves it to this one).
    sweep_now(&app, &s).await;
    let events = poll_until(30, "the lifecycle webhooks registered", || async {
        let mut events: Vec<String> = sim
            .webhooks(&s.account)
            .unwrap()
            .into_iter()
            .map(|w| w.event)
            .collect();
        events.sort();
        (events.len() == 4).then_some(events)
    })
    .await;
    assert_eq!(
        events,
        [
            "candidateArchiveChange",
            "candidateDeleted",
            "candidateHired",
            "candidateStageChange"
        ]
    );
    poll_until(30, "the new webhooks stored", || async {
        let n = app
            .count("SELECT count(*) AS n FROM lever_webhooks WHERE deleted_at IS NULL AND managed");
        (n == 4).then_some(())
    })
    .await;
    let report = crate::health_report::health(&app, &s.org, &s.key).await;
    assert_eq!(present(&report), [true, true, true, true], "{report}");
    // An archive is now delivered, and closes the interview.
    let opp = linked(&app, &sim, &s).await;
    sim.archive(&s.account, &opp, Some(NOT_HIRED)).unwrap();
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), CLOSED_TAG, 30).await;
    // The next sweep finds them all present: no webhook call but the list.
    sweep_and_settle(&app, &sim, &s).await;
    let webhook_calls: Vec<String> = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.path.starts_with("/v1/webhooks"))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(webhook_calls, ["GET /v1/webhooks"]);
}
