//! Deleted candidates and erasing (docs/contract/lifecycle.md): a deletion
//! Lever confirms (its deleted list, or a 404 under confidential access)
//! erases what the service holds about the candidate, with no Lever write;
//! an admin's erase of a candidate still in Lever closes its link first.
//! Afterwards no table holds the candidate's id, payloads or results in
//! clear, its links answer 404, and later findings stay erased until the
//! candidate enters the stage again. Every fact is read from the database,
//! the API and the simulator.

use arkiter_lever::lever::sim::{FaultAction, FaultRule, SimHandle};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{Value, json};

use crate::helpers::{TestApp, poll_until};
use crate::lever_flow::{Scenario, scenario, spawn_with_sim, wait_for_tag};
use crate::one_candidate::{act, settled};
use crate::sweep::pipeline::{sweep_and_settle, sweep_now};

const LINK_TAG: &str = "Arkiter Live: Link Created";

#[derive(QueryableByName, Debug)]
struct Hit {
    #[diesel(sql_type = Text)]
    place: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every `table.column` of a text or JSON type holding `needle` anywhere,
/// with how many rows do: every table of the schema, not a chosen list.
fn held_in_clear(app: &TestApp, needle: &str) -> Vec<String> {
    let hits: Vec<Hit> = diesel::sql_query(
        "SELECT c.table_name || '.' || c.column_name AS place, \
           (xpath('/row/n/text()', query_to_xml(format( \
              'SELECT count(*) AS n FROM %I WHERE %I::text LIKE %L', \
              c.table_name, c.column_name, '%' || $1 || '%'), false, true, '')))[1]::text::bigint \
             AS n \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.data_type IN ('text', 'jsonb', 'json', 'character varying')",
    )
    .bind::<Text, _>(needle)
    .load(&mut app.db())
    .unwrap();
    hits.into_iter()
        .filter(|h| h.n > 0)
        .map(|h| format!("{} ({})", h.place, h.n))
        .collect()
}

/// A candidate with a posted link, everything settled; its interview.
async fn linked(app: &TestApp, sim: &SimHandle, s: &Scenario) -> (String, Value) {
    let opp = crate::lifecycle::linked(app, sim, s).await;
    let iv = crate::lifecycle::the_interview(app, s, &opp).await;
    assert_eq!(iv["status"], "link_posted", "{iv}");
    (opp, iv)
}

/// The interview by id, once it is `erased`.
async fn erased(app: &TestApp, s: &Scenario, id: &str) -> Value {
    poll_until(30, "the interview erased", || async {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/interviews/{id}", s.org),
                Some(&s.key),
            )
            .await;
        (r.body["status"] == "erased").then_some(r.body)
    })
    .await
}

/// What a link of the interview answers now.
async fn link_status(app: &TestApp, url: &Value) -> u16 {
    let token = url.as_str().unwrap().rsplit('/').next().unwrap();
    let kind = if url.as_str().unwrap().contains("/results/") {
        "results"
    } else {
        "live"
    };
    app.get(&format!("/{kind}/{token}"), None).await.status
}

/// The Lever writes made for the account since the call log was cleared.
fn writes(sim: &SimHandle, s: &Scenario) -> Vec<String> {
    sim.calls_for(&s.account)
        .iter()
        .filter(|c| c.method != "GET")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

#[actix_web::test]
async fn a_deletion_confirmed_by_the_deleted_list_erases_everything_with_no_lever_write() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    // One open interview, and one with a result.
    let (open_opp, open_iv) = linked(&app, &sim, &s).await;
    let (done_opp, done_iv) = linked(&app, &sim, &s).await;
    let summary = "Erase-me summary: recursion and caching, well explained";
    let r = act(
        &app,
        &s,
        done_iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 77, "summary": summary}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let completed = "Arkiter Live: Completed";
    wait_for_tag(
        &sim,
        &s.account,
        std::slice::from_ref(&done_opp),
        completed,
        30,
    )
    .await;
    settled(&app).await;
    let results_url = app
        .get(
            &format!(
                "/api/v1/orgs/{}/interviews/{}",
                s.org,
                done_iv["id"].as_str().unwrap()
            ),
            Some(&s.key),
        )
        .await
        .body["results_url"]
        .clone();
    assert_eq!(link_status(&app, &results_url).await, 200);
    // Someone else, left alone.
    let (other_opp, _) = linked(&app, &sim, &s).await;

    // The probe sees the candidates where they are held.
    let before = held_in_clear(&app, &open_opp);
    assert!(
        before
            .iter()
            .any(|p| p.starts_with("interviews.opportunity_id")),
        "{before:?}"
    );
    assert!(
        before.iter().any(|p| p.starts_with("lever_events.payload")),
        "{before:?}"
    );
    assert!(!held_in_clear(&app, "Erase-me summary").is_empty());
    sim.clear_call_log();
    sim.delete(&s.account, &open_opp).unwrap();
    sim.delete(&s.account, &done_opp).unwrap();
    let a = erased(&app, &s, open_iv["id"].as_str().unwrap()).await;
    let b = erased(&app, &s, done_iv["id"].as_str().unwrap()).await;
    settled(&app).await;

    assert_eq!(writes(&sim, &s), Vec::<String>::new(), "no Lever write");
    assert!(
        sim.calls_for(&s.account)
            .iter()
            .any(|c| c.path == "/v1/opportunities/deleted"),
        "confirmed by the deleted list"
    );
    for (iv, opp) in [(&a, &open_opp), (&b, &done_opp)] {
        assert!(iv["result"].is_null() && iv["live_url"].is_null(), "{iv}");
        assert_ne!(iv["opportunity_id"], opp.as_str(), "{iv}");
        assert!(iv["created_at"].is_string(), "{iv}");
    }
    assert_eq!(a["close_reason"], "erased", "{a}");
    for opp in [&open_opp, &done_opp] {
        assert_eq!(held_in_clear(&app, opp), Vec::<String>::new(), "{opp}");
    }
    assert_eq!(
        held_in_clear(&app, "Erase-me summary"),
        Vec::<String>::new()
    );
    assert_eq!(link_status(&app, &open_iv["live_url"]).await, 404);
    assert_eq!(link_status(&app, &done_iv["live_url"]).await, 404);
    assert_eq!(link_status(&app, &results_url).await, 404);
    let export = |opp: &str| format!("/api/v1/orgs/{}/candidates/{opp}/export", s.org);
    assert_eq!(app.get(&export(&open_opp), Some(&s.key)).await.status, 404);
    // The other candidate's data is untouched.
    let r = app.get(&export(&other_opp), Some(&s.key)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["interviews"][0]["status"], "link_posted");
    // The deletions were worked as events, which hold nothing of them now.
    let r = app
        .list_events(&s.org, "?source=webhook&limit=200", Some(&s.key))
        .await;
    let deletions: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "candidateDeleted")
        .collect();
    assert_eq!(deletions.len(), 2, "{deletions:?}");
    assert!(
        deletions.iter().all(|e| e["status"] == "done"),
        "{deletions:?}"
    );

    // A sweep afterwards relinks no one and writes nothing.
    sweep_and_settle(&app, &sim, &s).await;
    assert_eq!(writes(&sim, &s), Vec::<String>::new());
}

#[actix_web::test]
async fn an_admin_erase_closes_the_link_first_and_stays_erased_until_a_new_entry() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (opp, iv) = linked(&app, &sim, &s).await;
    let path = format!("/api/v1/orgs/{}/candidates/{opp}", s.org);

    // Members may not; unknown candidates are 404; nothing changes.
    let (member, _) = app.new_key(&s.org, &s.key, "member", "reader").await;
    assert_eq!(app.delete(&path, Some(&member)).await.status, 403);
    let unknown = format!("/api/v1/orgs/{}/candidates/never-heard-of", s.org);
    assert_eq!(app.delete(&unknown, Some(&s.key)).await.status, 404);
    assert_eq!(s.live_link_count(&sim, &opp), 1);

    sim.clear_call_log();
    let r = app.delete(&path, Some(&s.key)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let gone = erased(&app, &s, iv["id"].as_str().unwrap()).await;
    settled(&app).await;
    assert_eq!(gone["close_reason"], "erased", "{gone}");
    // Lever: the link and the link tag came off, the candidate is still there.
    let shown = sim.opportunity(&s.account, &opp).unwrap();
    assert_eq!(s.live_link_count(&sim, &opp), 0, "{shown:?}");
    assert!(!shown.tags.iter().any(|t| t == LINK_TAG), "{shown:?}");
    assert_eq!(held_in_clear(&app, &opp), Vec::<String>::new());
    assert_eq!(link_status(&app, &iv["live_url"]).await, 404);

    // Still in the stage: a sweep finds it and links no one. The entry is
    // the one already recorded (now erased): when the delivery's
    // `triggeredAt` is the entry's time, its move identity absorbs the
    // finding; when Lever stamped the delivery a millisecond later, the
    // finding is stored `ignored` (`erased`). Nothing else is stored.
    let events = |app: &TestApp| {
        app.count(&format!(
            "SELECT count(*) AS n FROM lever_events WHERE org_id = '{}'",
            s.org
        ))
    };
    let others = |app: &TestApp| {
        app.count(&format!(
            "SELECT count(*) AS n FROM lever_events WHERE org_id = '{}' \
             AND NOT (source = 'sweep' AND status = 'ignored' AND reason = 'erased')",
            s.org
        ))
    };
    let before = others(&app);
    sweep_and_settle(&app, &sim, &s).await;
    assert_eq!(others(&app), before);
    assert_eq!(writes(&sim, &s), Vec::<String>::new(), "not relinked");
    // Once retention has pruned those events, the sweep's finding is
    // stored `ignored` (`erased`), without the id, and still links no one.
    app.count(&format!(
        "WITH gone AS (DELETE FROM lever_events WHERE org_id = '{}' RETURNING 1) \
         SELECT count(*) AS n FROM gone",
        s.org
    ));
    sweep_and_settle(&app, &sim, &s).await;
    let r = app
        .list_events(&s.org, "?source=sweep&reason=erased", Some(&s.key))
        .await;
    let found = r.body["items"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{}", r.body);
    assert_eq!(found[0]["status"], "ignored", "{}", r.body);
    assert_eq!(writes(&sim, &s), Vec::<String>::new(), "not relinked");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM interviews WHERE org_id = '{}'",
            s.org
        )),
        1
    );
    assert_eq!(held_in_clear(&app, &opp), Vec::<String>::new());
    // A second sweep stores it no more.
    sweep_and_settle(&app, &sim, &s).await;
    assert_eq!(events(&app), 1);

    // Moved out and in again: a new stage entry, a new interview and link.
    s.move_to(&sim, std::slice::from_ref(&opp), &s.other_stage);
    s.move_to(&sim, std::slice::from_ref(&opp), &s.stage);
    wait_for_tag(&sim, &s.account, std::slice::from_ref(&opp), LINK_TAG, 30).await;
    assert_eq!(s.live_link_count(&sim, &opp), 1);
}

#[actix_web::test]
async fn a_404_that_may_be_confidential_erases_nothing() {
    use arkiter_lever::lever::sim::AccountPatch;
    let (app, sim) = spawn_with_sim().await;
    // A grant without confidential access.
    let account = sim.create_account("Old consent");
    sim.patch_account(
        &account,
        AccountPatch {
            withheld_scopes: Some(vec!["confidential:access:admin".to_owned()]),
            ..Default::default()
        },
    )
    .unwrap();
    let s = crate::lever_flow::scenario_on(&app, &sim, account).await;
    let (opp, iv) = linked(&app, &sim, &s).await;
    // Lever answers 404 for the candidate, as it may for a confidential
    // one, and does not list it as deleted; the deletion is a hint only.
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 404 })
            .on("GET", &format!("/opportunities/{opp}")),
    )
    .unwrap();
    let (conn, body) = crate::one_candidate::signed_delivery(
        &sim,
        &s,
        "candidateDeleted",
        &"d".repeat(40),
        chrono::Utc::now().timestamp_millis(),
        json!({"opportunityId": opp, "candidateId": opp}),
    );
    let r = app.post_webhook(&conn, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dead = poll_until(30, "the deletion dead", || async {
        let r = app.list_events(&s.org, "?status=dead", Some(&s.key)).await;
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "candidateDeleted")
            .cloned()
    })
    .await;
    assert_eq!(dead["opportunity_id"], opp.as_str(), "{dead}");
    let r = app
        .get(
            &format!(
                "/api/v1/orgs/{}/interviews/{}",
                s.org,
                iv["id"].as_str().unwrap()
            ),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.body["status"], "link_posted", "{}", r.body);
    assert_eq!(r.body["opportunity_id"], opp.as_str());
    assert_eq!(app.count("SELECT count(*) AS n FROM erased_candidates"), 0);
}

#[actix_web::test]
async fn a_deletion_lever_did_not_deliver_is_erased_by_a_sweep() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (opp, iv) = linked(&app, &sim, &s).await;
    sim.set_webhooks_enabled(&s.account, false).unwrap();
    sim.clear_call_log();
    sim.delete(&s.account, &opp).unwrap();
    assert!(
        !sim.deliveries(&s.account)
            .unwrap()
            .iter()
            .any(|d| d.event == "candidateDeleted"),
        "nothing delivered"
    );
    sweep_now(&app, &s).await;
    erased(&app, &s, iv["id"].as_str().unwrap()).await;
    settled(&app).await;
    assert_eq!(writes(&sim, &s), Vec::<String>::new());
    assert_eq!(held_in_clear(&app, &opp), Vec::<String>::new());
    let r = app.list_events(&s.org, "?source=sweep", Some(&s.key)).await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "candidateDeleted" && e["status"] == "done"),
        "{}",
        r.body
    );
}

/// An admin erase of a candidate whose completion could not be written to
/// Lever yet (its results job failed): the erase ends that job, so it takes
/// the live link and the link tag off itself.
#[actix_web::test]
async fn an_admin_erase_takes_off_the_link_a_stuck_completion_left() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let (opp, iv) = linked(&app, &sim, &s).await;
    // Lever refuses the results link for this candidate: the job goes dead.
    sim.add_fault(
        &s.account,
        FaultRule::always(FaultAction::Status { status: 404 })
            .on("POST", &format!("/opportunities/{opp}/addLinks")),
    )
    .unwrap();
    let r = act(
        &app,
        &s,
        iv["id"].as_str().unwrap(),
        "complete",
        json!({"score": 50, "summary": "Fine"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "the results job dead", || async {
        let n = app.count("SELECT count(*) AS n FROM jobs WHERE status = 'dead'");
        (n == 1).then_some(())
    })
    .await;
    assert_eq!(
        s.live_link_count(&sim, &opp),
        1,
        "the live link is still on"
    );
    sim.clear_faults(&s.account).unwrap();

    let r = app
        .delete(
            &format!("/api/v1/orgs/{}/candidates/{opp}", s.org),
            Some(&s.key),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    erased(&app, &s, iv["id"].as_str().unwrap()).await;
    settled(&app).await;
    let shown = sim.opportunity(&s.account, &opp).unwrap();
    assert_eq!(s.live_link_count(&sim, &opp), 0, "{shown:?}");
    assert!(!shown.tags.iter().any(|t| t == LINK_TAG), "{shown:?}");
    assert_eq!(held_in_clear(&app, &opp), Vec::<String>::new());
}

/// The erasing event's claim is keyed by the id the erase takes away: once
/// the erase commits, no poll may find that event due under its new key
/// (it would run a second time and end `ignored` instead of `done`).
#[test]
fn an_erasing_event_is_not_due_again_once_its_erase_commits() {
    use arkiter_lever::db::models::claim::{LeaseRef, claim_events};
    use arkiter_lever::db::models::erased::erase;

    use crate::inbox_store::{bed, exec};

    let (name, mut c, org, conn) = bed();
    let event = uuid::Uuid::new_v4();
    exec(
        &mut c,
        &format!(
            "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, payload, status, next_attempt_at) VALUES ('{event}', '{conn}', \
             '{org}', 'candidateDeleted', 'tok-deleted', 1764270000000, 'opp-gone', '{{}}'::jsonb, \
             'pending', now() - interval '1 second')"
        ),
    );
    exec(
        &mut c,
        &format!(
            "UPDATE connection_leases SET owner = 'me', epoch = 1, \
             expires_at = now() + interval '1 minute' WHERE connection_id = '{conn}'"
        ),
    );
    let me = LeaseRef {
        connection_id: conn,
        owner: "me",
        epoch: 1,
    };
    let hold = std::time::Duration::from_secs(30);
    let claimed = claim_events(&mut c, me, hold, 8).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id.0, event);

    erase(&mut c, conn, "opp-gone", "erased:k", Some(event)).unwrap();
    assert!(claim_events(&mut c, me, hold, 8).unwrap().is_empty());
    let status: Vec<Hit> = diesel::sql_query(format!(
        "SELECT status || ' ' || opportunity_id AS place, 1::bigint AS n FROM lever_events \
         WHERE id = '{event}'"
    ))
    .load(&mut c)
    .unwrap();
    assert_eq!(status[0].place, "done erased:k");
    drop(c);
    crate::helpers::test_db().drop_database(&name);
}
