//! The client's calls for the sweep against the simulator: the stage's
//! opportunities across pages (one call per 100), and the account's webhooks.

use arkiter_lever::lever::sim::NewOpportunity;

use crate::lever_support::*;

#[actix_rt::test]
async fn the_stage_is_listed_100_a_page_following_next() {
    let sim = start_sim().await;
    let c = connect(&sim, "List", ClientOptions::default()).await;
    let a = &c.account;
    let live = sim.add_stage(a, "Arkiter Live").unwrap().id;
    let other = sim.add_stage(a, "Screen").unwrap().id;
    let mut in_stage = Vec::new();
    for i in 0..260 {
        let stage = if i < 250 { &live } else { &other };
        let id = sim
            .add_opportunity(
                a,
                NewOpportunity {
                    stage_id: stage.clone(),
                    ..NewOpportunity::default()
                },
            )
            .unwrap()
            .id;
        if i < 250 {
            in_stage.push(id);
        }
    }
    // One moved out and back in: its entry is the latest move into the stage.
    let back = in_stage[7].clone();
    sim.move_without_delivery(a, std::slice::from_ref(&back), &other)
        .unwrap();
    sim.move_without_delivery(a, std::slice::from_ref(&back), &live)
        .unwrap();
    sim.clear_call_log();

    let listed = c.client.list_stage_opportunities(&live).await.unwrap();
    let got: Vec<String> = listed.iter().map(|o| o.id.clone()).collect();
    assert_eq!(got, in_stage);
    let calls = sim.calls_for(a);
    assert_eq!(calls.len(), 3, "250 candidates: three pages");
    for call in &calls {
        assert_eq!(
            (call.method.as_str(), call.path.as_str()),
            ("GET", "/v1/opportunities")
        );
        assert!(
            call.query.contains(&format!("stage_id={live}")),
            "{}",
            call.query
        );
        assert!(call.query.contains("limit=100"), "{}", call.query);
    }
    assert!(calls[1].query.contains("offset="));

    let moved = listed.iter().find(|o| o.id == back).unwrap();
    let entry = moved.stage_changes.as_ref().unwrap().last().unwrap();
    assert_eq!(moved.current_entry_at(&live), entry.updated_at);
    // Created straight into the stage: no stageChanges entry, createdAt stands in.
    let plain = &listed[0];
    assert!(plain.stage_changes.as_ref().is_some_and(|c| c.is_empty()));
    assert_eq!(
        plain.current_entry_at(&live),
        plain.extra.get("createdAt").and_then(|v| v.as_i64())
    );

    // The paged form, for a caller that paces itself between pages.
    let filter = [("stage_id", live.clone())];
    let first = c
        .client
        .list_opportunities_page(&filter, None)
        .await
        .unwrap();
    assert_eq!(first.data.len(), 100);
    let next = first.next_offset().unwrap().to_owned();
    let second = c
        .client
        .list_opportunities_page(&filter, Some(&next))
        .await
        .unwrap();
    assert_eq!(second.data[0].id, in_stage[100]);
}

#[actix_rt::test]
async fn webhooks_are_read_tolerantly() {
    use arkiter_lever::lever::wire::{ListEnvelope, WebhookSubscription, parse_list};
    let body = br#"{"data":[{"id":"w1","event":"candidateStageChange","url":"https://x/h",
        "configuration":{"conditions":{"origins":["applied"]}},"createdAt":1,"updatedAt":2,
        "somethingNew":{"a":1}},{"id":"w2","enabled":false}],"hasNext":false}"#;
    let list: ListEnvelope<WebhookSubscription> = parse_list(body).unwrap();
    assert_eq!(list.data.len(), 2);
    assert!(!list.data[0].is_disabled());
    assert!(list.data[1].is_disabled());
    assert_eq!(list.data[1].event, "");
    assert!(list.next_offset().is_none());
}
