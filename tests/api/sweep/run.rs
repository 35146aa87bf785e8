//! The sweep runner (`sweep::run`) against the simulator and the running
//! app, with the deps built the way the supervisor would (the connection's
//! handle, the app's database and key): what Lever did not deliver is
//! recorded and linked by the pipeline, handled candidates cost nothing
//! beyond the list call, and the webhook is repaired (managed) or reported
//! missing (manual).

use std::sync::Arc;
use std::time::Duration;

use arkiter_lever::connections::{Handles, LeverEnv};
use arkiter_lever::db::{Pool, PoolOptions};
use arkiter_lever::domain::ids::ConnectionId;
use arkiter_lever::domain::secrets::SecretBox;
use arkiter_lever::lever::sim::{AccountPatch, SimHandle};
use arkiter_lever::sweep::{SweepDeps, SweepTarget, WebhookCheck, run_if_due, sweep};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use crate::health_report::{codes, message};
use crate::helpers::{TestApp, poll_until, test_settings};
use crate::lever_flow::{Scenario, point_at, scenario, spawn_with_sim};

/// The deps a supervisor would hand the sweep, built from the app's database,
/// key and settings (a handle of our own: same tokens, its own limiter).
fn deps(app: &TestApp, sim: &SimHandle, connection: Uuid) -> SweepDeps {
    let mut settings = test_settings(&app.db_url);
    point_at(&mut settings, sim);
    let env = LeverEnv::new(&settings.lever, &app.address).unwrap();
    let db = Pool::new(
        &SecretString::from(app.db_url.clone()),
        PoolOptions {
            label: "test",
            max_size: 2,
            checkout_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            lock_timeout: None,
            test_on_check_out: false,
        },
    );
    let secrets = SecretBox::new(&app.encryption_key);
    let handles = Handles::new(env, db.clone(), secrets.clone());
    SweepDeps {
        client: handles.get(ConnectionId(connection)).unwrap().client(None),
        db,
        secrets,
        may_write: Arc::new(|| true),
        fence: None,
    }
}

async fn connection_id(app: &TestApp, s: &Scenario) -> Uuid {
    let r = app.get_lever(&s.org, &s.key).await;
    Uuid::parse_str(r.body["id"].as_str().unwrap()).unwrap()
}

async fn target(app: &TestApp, deps: &SweepDeps, id: Uuid) -> SweepTarget {
    SweepTarget::load(&deps.db, ConnectionId(id), &app.address)
        .await
        .unwrap()
        .expect("an active connection")
}

/// The calls Lever took. This test's sweeps run without the service's
/// rate limiter, so the simulator may refuse one with a 429 (Lever refused
/// it before acting), and the client resends it: those refusals are left out.
fn calls(sim: &SimHandle, account: &str) -> Vec<String> {
    sim.calls_for(account)
        .iter()
        .filter(|c| c.status != 429)
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

#[actix_web::test]
async fn what_lever_did_not_deliver_is_found_once_and_linked() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let id = connection_id(&app, &s).await;
    let d = deps(&app, &sim, id);
    let opps = s.candidates(&sim, 5);
    let (delivered, missed, elsewhere, later) = (&opps[0], &opps[1], &opps[2], &opps[3]);
    // Linked, and completed while still sitting in the stage.
    let done = &opps[4];
    s.move_to(&sim, &[delivered.clone(), done.clone()], &s.stage);
    s.wait_for_links(&sim, &[delivered.clone(), done.clone()], 2)
        .await;
    crate::one_candidate::settled(&app).await;
    let done_iv: String = app
        .get(
            &format!("/api/v1/orgs/{}/interviews?opportunity_id={done}", s.org),
            Some(&s.key),
        )
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = crate::one_candidate::act(&app, &s, &done_iv, "complete", json!({"score": 80})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    crate::lever_flow::wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(done),
        "Arkiter Live: Completed",
        30,
    )
    .await;
    crate::one_candidate::settled(&app).await;
    sim.move_without_delivery(&s.account, std::slice::from_ref(missed), &s.stage)
        .unwrap();
    sim.move_without_delivery(&s.account, std::slice::from_ref(elsewhere), &s.other_stage)
        .unwrap();

    // Connecting made a sweep due, and the supervisor ran it at once
    // (`scenario` waits for it).
    sim.clear_call_log();
    let t = target(&app, &d, id).await;
    assert!(t.managed);
    let out = sweep(&d, &t, || async {}).await.unwrap();
    assert_eq!(out.listed, 3);
    assert_eq!(out.found, std::slice::from_ref(missed));
    assert_eq!(out.webhook, WebhookCheck::Present);
    assert_eq!(out.archived, Vec::<String>::new());
    // The stage listing, the archives and deletions since (an interview is
    // open) and the webhook check: nothing read for anyone. The finding is handed to the
    // pipeline before the webhook check, so its link step may already be
    // reading `missed`; those calls are the pipeline's, not the sweep's,
    // and are left out here.
    let own: Vec<String> = sim
        .calls_for(&s.account)
        .iter()
        .filter(|c| c.status != 429 && !c.path.contains(missed.as_str()))
        .map(|c| {
            let archives = c.query.contains("archived=true");
            format!(
                "{} {}{}",
                c.method,
                c.path,
                if archives { " (archives)" } else { "" }
            )
        })
        .collect();
    assert_eq!(
        own[..4],
        [
            "GET /v1/opportunities".to_owned(),
            "GET /v1/opportunities (archives)".to_owned(),
            "GET /v1/opportunities/deleted".to_owned(),
            "GET /v1/webhooks".to_owned()
        ]
    );
    // The pipeline links the finding; its event says where it came from.
    s.wait_for_links(&sim, std::slice::from_ref(missed), 1)
        .await;
    crate::one_candidate::settled(&app).await;
    // The linked one, the completed one and the one in another stage: not
    // one call names them (no write, no read beyond the list).
    let log = sim.calls_for(&s.account);
    for untouched in [delivered, done, elsewhere] {
        assert!(
            log.iter().all(|c| !c.path.contains(untouched.as_str())),
            "{untouched}: {log:#?}"
        );
    }
    let r = app.list_events(&s.org, "", Some(&s.key)).await;
    let sources: Vec<(String, String)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["opportunity_id"].as_str().unwrap_or("").to_owned(),
                e["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        sources.contains(&(missed.clone(), "sweep".into())),
        "{sources:?}"
    );
    assert!(
        sources.contains(&(delivered.clone(), "webhook".into())),
        "{sources:?}"
    );

    // Everything in the stage is handled now: only the list calls are made
    // for them, and nothing is recorded. A yield before each call is asked.
    sim.clear_call_log();
    let yields = std::cell::Cell::new(0);
    let out = sweep(&d, &t, || {
        yields.set(yields.get() + 1);
        async {}
    })
    .await
    .unwrap();
    assert_eq!((out.listed, out.found.len()), (3, 0));
    assert_eq!(yields.get(), 4, "one per Lever call");
    // The stage, the archives and deletions since (interviews are open),
    // the webhooks.
    assert_eq!(
        calls(&sim, &s.account),
        [
            "GET /v1/opportunities",
            "GET /v1/opportunities",
            "GET /v1/opportunities/deleted",
            "GET /v1/webhooks"
        ]
    );

    // Webhooks deleted in Lever: the next sweep registers ours again, the
    // new token verifies, and a later move is delivered and linked.
    sim.delete_webhooks(&s.account).unwrap();
    let out = sweep(&d, &t, || async {}).await.unwrap();
    assert!(
        matches!(out.webhook, WebhookCheck::Repaired { .. }),
        "{out:?}"
    );
    let hooks = sim.webhooks(&s.account).unwrap();
    assert_eq!(hooks.len(), 4, "one per event: {hooks:?}");
    let url = format!("{}/webhooks/lever/{id}", app.address);
    assert!(hooks.iter().all(|h| h.url == url), "{hooks:?}");
    let kept = app.count(&format!(
        "SELECT COUNT(*) AS n FROM lever_webhooks WHERE connection_id = '{id}'"
    ));
    assert_eq!(kept, 8, "the old tokens are kept beside the new ones");
    s.move_to(&sim, std::slice::from_ref(later), &s.stage);
    s.wait_for_links(&sim, std::slice::from_ref(later), 1).await;
    let health = crate::health_report::health(&app, &s.org, &s.key).await;
    assert!(
        codes(&health).contains(&"webhook_repaired".to_owned()),
        "{health}"
    );
    // Present again with the new row's id: nothing more to repair.
    let t = target(&app, &d, id).await;
    assert_eq!(
        sweep(&d, &t, || async {}).await.unwrap().webhook,
        WebhookCheck::Present
    );
}

#[actix_web::test]
async fn a_completed_candidate_back_in_the_stage_gets_a_second_interview() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let id = connection_id(&app, &s).await;
    let d = deps(&app, &sim, id);
    let opp = s.candidates(&sim, 1).remove(0);
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    s.wait_for_links(&sim, std::slice::from_ref(&opp), 1).await;
    let r = app
        .get(&format!("/api/v1/orgs/{}/interviews", s.org), Some(&s.key))
        .await;
    let iv = r.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/interviews/{iv}/complete", s.org),
            Some(&s.key),
            &json!({"score": 80}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "results posted", || async {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/interviews/{iv}", s.org),
                Some(&s.key),
            )
            .await;
        (r.body["status"] == "results_posted").then_some(())
    })
    .await;
    // Completed and still in the stage: a sweep leaves it alone.
    let t = target(&app, &d, id).await;
    assert!(sweep(&d, &t, || async {}).await.unwrap().found.is_empty());
    // Out and back in with no delivery: a new entry, a new interview.
    sim.move_without_delivery(&s.account, std::slice::from_ref(&opp), &s.other_stage)
        .unwrap();
    sim.move_without_delivery(&s.account, std::slice::from_ref(&opp), &s.stage)
        .unwrap();
    let out = sweep(&d, &t, || async {}).await.unwrap();
    assert_eq!(out.found, std::slice::from_ref(&opp));
    poll_until(30, "a second interview", || async {
        let r = app
            .get(&format!("/api/v1/orgs/{}/interviews", s.org), Some(&s.key))
            .await;
        let items = r.body["items"].as_array().unwrap();
        (items.len() == 2 && items.iter().any(|i| i["status"] == "link_posted")).then_some(())
    })
    .await;
    assert!(sweep(&d, &t, || async {}).await.unwrap().found.is_empty());
}

#[actix_web::test]
async fn manual_mode_reports_a_missing_webhook() {
    // No pipeline: its own sweeps would race the ones this test runs.
    let sim = crate::lever_support::start_sim().await;
    let app = crate::helpers::spawn_app_without_pipeline_with(|s| point_at(s, &sim)).await;
    let account = sim.create_account("Manual");
    sim.add_stage(&account, "Arkiter Live").unwrap();
    sim.patch_account(
        &account,
        AccountPatch {
            webhooks_api: Some(false),
            ..AccountPatch::default()
        },
    )
    .unwrap();
    sim.login(&account).unwrap();
    let (org, key) = app.new_org("Manual").await;
    let done = app.connect_lever(&org, &key).await;
    assert_eq!(
        done.body["connection_status"], "needs_setup",
        "{}",
        done.body
    );
    let bytes = serde_json::to_vec(&json!({"signature_token": "pasted-token-123"})).unwrap();
    let r = app
        .request(
            "PUT",
            &format!("/api/v1/orgs/{org}/lever/webhook-secret"),
            Some(&key),
            Some(("application/json", bytes)),
        )
        .await;
    assert_eq!(r.body["status"], "active", "{}", r.body);
    let id = Uuid::parse_str(r.body["id"].as_str().unwrap()).unwrap();
    let d = deps(&app, &sim, id);
    let t = target(&app, &d, id).await;
    assert!(!t.managed);

    let out = sweep(&d, &t, || async {}).await.unwrap();
    assert_eq!(out.webhook, WebhookCheck::Missing);
    assert!(
        sim.webhooks(&account).unwrap().is_empty(),
        "nothing registered"
    );
    let health = crate::health_report::health(&app, &org, &key).await;
    let m = message(&health, "webhook_missing");
    assert!(m.contains(&t.webhook_url), "{m}");
    assert!(m.contains("lever/webhook-secret"), "{m}");

    // Pasting a signature token (the admin says it is there) clears it at
    // once and makes a sweep due to check.
    let bytes = serde_json::to_vec(&json!({"signature_token": "pasted-token-456"})).unwrap();
    let r = app
        .request(
            "PUT",
            &format!("/api/v1/orgs/{org}/lever/webhook-secret"),
            Some(&key),
            Some(("application/json", bytes)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let health = crate::health_report::health(&app, &org, &key).await;
    assert!(codes(&health).is_empty(), "{health}");
    let out = run_if_due(&d, &t, None, || async {})
        .await
        .unwrap()
        .expect("due");
    assert_eq!(out.webhook, WebhookCheck::Missing, "not in Lever after all");

    // The admin adds it in Lever: the next sweep clears the problem.
    sim.add_ui_webhook(&account, &t.webhook_url, "candidateStageChange")
        .unwrap();
    let out = sweep(&d, &t, || async {}).await.unwrap();
    assert_eq!(out.webhook, WebhookCheck::Present);
    let health = crate::health_report::health(&app, &org, &key).await;
    assert!(
        !codes(&health).contains(&"webhook_missing".to_owned()),
        "{health}"
    );
}

#[actix_web::test]
async fn five_thousand_handled_candidates_cost_fifty_list_calls_and_nothing_else() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let id = connection_id(&app, &s).await;
    let d = deps(&app, &sim, id);
    sim.patch_account(
        &s.account,
        AccountPatch {
            rate_per_sec: Some(1000.0),
            rate_capacity: Some(1000.0),
            ..AccountPatch::default()
        },
    )
    .unwrap();
    let mut opps = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        let o = sim
            .add_opportunity(
                &s.account,
                arkiter_lever::lever::sim::NewOpportunity {
                    stage_id: s.stage.clone(),
                    posting_id: Some(s.posting.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
        opps.push(o.id);
    }
    // All handled: each has its completed interview for this entry.
    let org = &s.org;
    crate::interviews_read::seed::exec(
        &app,
        &format!(
            "INSERT INTO interviews (id, org_id, connection_id, opportunity_id, rule, status, \
             live_token, results_token) \
             SELECT gen_random_uuid(), '{org}', '{id}', o, 'title', 'results_posted', \
                    'lv' || o, 'rs' || o \
             FROM unnest(ARRAY[{}]) AS o",
            opps.iter()
                .map(|o| format!("'{o}'"))
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    let events_before = app.count("SELECT COUNT(*) AS n FROM lever_events");
    sim.clear_call_log();
    let t = target(&app, &d, id).await;
    let started = std::time::Instant::now();
    let out = sweep(&d, &t, || async {}).await.unwrap();
    assert_eq!((out.listed, out.found.len()), (5_000, 0));
    let made = calls(&sim, &s.account);
    let lists = made
        .iter()
        .filter(|c| *c == "GET /v1/opportunities")
        .count();
    assert_eq!(lists, 50, "{made:?}");
    assert_eq!(made.len(), 51, "the list pages and GET /webhooks only");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM lever_events"),
        events_before
    );
    eprintln!("sweep of 5,000 handled candidates: {:?}", started.elapsed());
}
