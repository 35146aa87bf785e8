//! The simulator's side of the sweep: `GET /opportunities` filters and
//! paging as docs/contract/lever-facts.md has them, moves that deliver nothing, and
//! deleting or disabling an account's webhooks.

use arkiter_lever::lever::sim::{NewOpportunity, SimHandle};
use arkiter_lever::lever::wire::{WebhookCreate, events};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::lever_support::*;
use crate::support::sim_control::SimControl;

async fn get(url: &str, token: &str) -> (u16, Value) {
    let mut resp = awc::Client::default()
        .get(url)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    let body = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    (
        resp.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn seed(
    sim: &SimHandle,
    account: &str,
    stage: &str,
    posting: Option<&str>,
    tags: &[&str],
) -> String {
    sim.add_opportunity(
        account,
        NewOpportunity {
            stage_id: stage.to_owned(),
            posting_id: posting.map(str::to_owned),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..NewOpportunity::default()
        },
    )
    .unwrap()
    .id
}

#[actix_rt::test]
async fn opportunities_filter_by_stage_posting_tag_and_time() {
    let sim = start_sim().await;
    let c = connect(&sim, "Filters", ClientOptions::default()).await;
    let a = &c.account;
    let token = c.grant.access_token.expose_secret().to_owned();
    let live = sim.add_stage(a, "Arkiter Live").unwrap().id;
    let other = sim.add_stage(a, "Screen").unwrap().id;
    let p1 = sim.add_posting(a, "Backend").unwrap().id;
    let p2 = sim.add_posting(a, "Frontend").unwrap().id;
    let o1 = seed(&sim, a, &live, Some(&p1), &["red"]);
    let o2 = seed(&sim, a, &live, Some(&p2), &["blue"]);
    let o3 = seed(&sim, a, &other, Some(&p1), &["red", "Blue"]);
    let api = sim.api_url();

    let (s, b) = get(&format!("{api}/opportunities?stage_id={live}"), &token).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&b), [o1.clone(), o2.clone()]);
    assert_eq!(b["hasNext"], false);
    let (_, b) = get(&format!("{api}/opportunities?posting_id={p1}"), &token).await;
    assert_eq!(ids(&b), [o1.clone(), o3.clone()]);
    let (_, b) = get(
        &format!("{api}/opportunities?stage_id={live}&posting_id={p1}"),
        &token,
    )
    .await;
    assert_eq!(ids(&b), std::slice::from_ref(&o1));
    // Tags are case-sensitive; a repeated `tag` is a union.
    let (_, b) = get(&format!("{api}/opportunities?tag=blue"), &token).await;
    assert_eq!(ids(&b), std::slice::from_ref(&o2));
    let (_, b) = get(&format!("{api}/opportunities?tag=red&tag=blue"), &token).await;
    assert_eq!(ids(&b), [o1.clone(), o2.clone(), o3.clone()]);

    // updated_at_start: only what changed since (a move updates).
    let since = chrono::Utc::now().timestamp_millis() + 1;
    crate::helpers::poll_until(30, "the clock to pass the change time", || async {
        (chrono::Utc::now().timestamp_millis() >= since).then_some(())
    })
    .await;
    sim.move_without_delivery(a, std::slice::from_ref(&o3), &live)
        .unwrap();
    let (_, b) = get(
        &format!("{api}/opportunities?updated_at_start={since}"),
        &token,
    )
    .await;
    assert_eq!(ids(&b), std::slice::from_ref(&o3));
    let (_, b) = get(
        &format!(
            "{api}/opportunities?stage_id={live}&updated_at_end={}",
            since - 1
        ),
        &token,
    )
    .await;
    assert_eq!(ids(&b), [o1, o2]);
    let (s, b) = get(
        &format!("{api}/opportunities?updated_at_start=yesterday"),
        &token,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(b["code"], "BadRequestError");
}

#[actix_rt::test]
async fn opportunities_page_by_100_with_next_and_has_next() {
    let sim = start_sim().await;
    let c = connect(&sim, "Paging", ClientOptions::default()).await;
    let a = &c.account;
    let token = c.grant.access_token.expose_secret().to_owned();
    let live = sim.add_stage(a, "Arkiter Live").unwrap().id;
    let other = sim.add_stage(a, "Screen").unwrap().id;
    for i in 0..230 {
        seed(&sim, a, if i % 10 == 9 { &other } else { &live }, None, &[]);
    }
    let api = sim.api_url();
    let mut seen = Vec::new();
    let mut url = format!("{api}/opportunities?stage_id={live}");
    let mut pages = 0;
    loop {
        let (s, b) = get(&url, &token).await;
        assert_eq!(s, 200, "{b}");
        pages += 1;
        seen.extend(ids(&b));
        if b["hasNext"] == false {
            assert!(b.get("next").is_none());
            break;
        }
        let next = b["next"].as_str().unwrap();
        url = format!("{api}/opportunities?stage_id={live}&offset={next}");
    }
    assert_eq!((pages, seen.len()), (3, 207));
    let (_, b) = get(
        &format!("{api}/opportunities?stage_id={live}&limit=50"),
        &token,
    )
    .await;
    assert_eq!(ids(&b).len(), 50);
    let (s, _) = get(&format!("{api}/opportunities?limit=101"), &token).await;
    assert_eq!(s, 400);
}

#[actix_rt::test]
async fn a_silent_move_adds_a_stage_change_and_delivers_nothing() {
    let sim = start_sim().await;
    let c = connect(&sim, "Silent", ClientOptions::default()).await;
    let a = &c.account;
    let (live, _, opp) = seed_basic(&sim, a);
    let other = sim.add_stage(a, "Screen").unwrap().id;
    sim.add_ui_webhook(a, "http://127.0.0.1:9/hook", events::CANDIDATE_STAGE_CHANGE)
        .unwrap();
    sim.move_without_delivery(a, std::slice::from_ref(&opp), &other)
        .unwrap();
    sim.move_without_delivery(a, std::slice::from_ref(&opp), &live)
        .unwrap();
    assert!(sim.deliveries(a).unwrap().is_empty());
    let o = c.client.get_opportunity(&opp).await.unwrap();
    assert_eq!(o.stage_id(), Some(live.as_str()));
    let changes = o.stage_changes.clone().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].to_stage_id, live);
    assert!(changes[1].updated_at > changes[0].updated_at);
    assert_eq!(o.current_entry_at(&live), changes[1].updated_at);
    assert_eq!(o.current_entry_at(&other), None, "not in that stage now");

    // The same over the control API.
    let ctl = SimControl::new(&sim);
    let r = ctl
        .move_opportunities(a, std::slice::from_ref(&opp), &other, false)
        .await;
    assert_eq!(r.status, 200);
    assert!(sim.deliveries(a).unwrap().is_empty());
    assert_eq!(sim.opportunity(a, &opp).unwrap().stage, other);
}

#[actix_rt::test]
async fn webhooks_are_listed_then_deleted_or_turned_off() {
    let sim = start_sim().await;
    let c = connect(&sim, "Hooks", ClientOptions::default()).await;
    let a = &c.account;
    let (live, _, opp) = seed_basic(&sim, a);
    let other = sim.add_stage(a, "Screen").unwrap().id;
    let create = WebhookCreate {
        url: "http://127.0.0.1:9/ours".into(),
        event: events::CANDIDATE_STAGE_CHANGE.into(),
        configuration: None,
    };
    let ours = c.client.create_webhook(&create).await.unwrap();
    let ui = sim
        .add_ui_webhook(a, "http://127.0.0.1:9/ui", events::CANDIDATE_STAGE_CHANGE)
        .unwrap();
    let listed = c.client.list_webhooks().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, ours.id);
    assert_eq!(listed[0].url, "http://127.0.0.1:9/ours");
    assert_eq!(listed[0].event, "candidateStageChange");
    assert!(
        listed[0].signature_token().is_none(),
        "only shown on create"
    );
    assert!(!listed[0].is_disabled());

    // Off: the Super Admin's toggle; the webhooks stay listed, nothing is sent.
    sim.set_webhooks_enabled(a, false).unwrap();
    sim.move_opportunities(a, std::slice::from_ref(&opp), &other)
        .unwrap();
    assert!(sim.deliveries(a).unwrap().is_empty());
    assert_eq!(c.client.list_webhooks().await.unwrap().len(), 2);
    sim.set_webhooks_enabled(a, true).unwrap();
    sim.move_opportunities(a, std::slice::from_ref(&opp), &live)
        .unwrap();
    assert_eq!(sim.deliveries(a).unwrap().len(), 2);

    // Deleted: one, then all (a UI-made one included).
    sim.delete_webhook(a, &ui.id).unwrap();
    assert!(sim.delete_webhook(a, &ui.id).is_err());
    assert_eq!(c.client.list_webhooks().await.unwrap().len(), 1);
    c.client.create_webhook(&create).await.unwrap();
    let ctl = SimControl::new(&sim);
    let r = ctl.delete_webhooks(a).await;
    assert_eq!((r.status, &r.body["deleted"]), (200, &json!(2)));
    assert!(c.client.list_webhooks().await.unwrap().is_empty());
    assert_eq!(ctl.disable_webhooks(a).await.status, 204);
    assert!(!sim.account(a).unwrap().webhooks_enabled);
}
