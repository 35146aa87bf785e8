//! Bulk replay of dead events (docs/contract/http-api.md): a dry run counts
//! the events that went dead in a window, and replaying that window runs
//! exactly those again.

use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::poll_until;
use crate::lever_flow::{scenario, spawn_with_sim};
use crate::one_candidate::settled;

#[actix_rt::test]
async fn a_window_of_dead_events_is_counted_then_replayed_and_only_it() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    s.remove_role(&app).await;
    // 30 candidates no role can take: their events go dead.
    let opps = s.candidates(&sim, 30);
    s.move_to(&sim, &opps, &s.stage);
    let dead = poll_until(60, "30 dead events", || async {
        let d = app.events(&s.org, &s.key, "?status=dead&limit=100").await;
        (d.len() == 30).then_some(d)
    })
    .await;
    settled(&app).await;
    // Spread over two days: 10 went dead 40 h ago, 10 20 h ago, 10 now.
    let ids: Vec<String> = dead
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let mut db = app.db();
    for (chunk, hours) in ids.chunks(10).zip([40, 20]) {
        let list = chunk
            .iter()
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",");
        diesel::sql_query(format!(
            "UPDATE lever_events SET updated_at = now() - interval '{hours} hours' WHERE id IN ({list})"
        ))
        .execute(&mut db)
        .unwrap();
    }
    let window: Vec<String> = ids[10..20].to_vec();
    let since = (chrono::Utc::now() - chrono::Duration::hours(30)).to_rfc3339();
    let until = (chrono::Utc::now() - chrono::Duration::hours(10)).to_rfc3339();
    let replay = format!("/api/v1/orgs/{}/events/replay", s.org);

    app.post_json(&replay, Some(&s.key), &json!({"status": "done"}))
        .await
        .assert_error(422, "validation_failed");
    let dry = app
        .post_json(
            &replay,
            Some(&s.key),
            &json!({"status": "dead", "since": since, "until": until, "dry_run": true}),
        )
        .await;
    assert_eq!(
        (dry.status, &dry.body["count"]),
        (200, &json!(10)),
        "{}",
        dry.body
    );
    assert_eq!(
        app.events(&s.org, &s.key, "?status=dead&limit=100")
            .await
            .len(),
        30
    );

    s.add_backend_role(&app).await;
    let run = app
        .post_json(
            &replay,
            Some(&s.key),
            &json!({"status": "dead", "since": since, "until": until}),
        )
        .await;
    assert_eq!(
        (run.status, &run.body["count"]),
        (202, &json!(10)),
        "{}",
        run.body
    );
    let replayed: Vec<String> = dead
        .iter()
        .filter(|e| window.contains(&e["id"].as_str().unwrap().to_owned()))
        .map(|e| e["opportunity_id"].as_str().unwrap().to_owned())
        .collect();
    poll_until(60, "the window's candidates linked", || async {
        replayed
            .iter()
            .all(|o| s.live_link_count(&sim, o) == 1)
            .then_some(())
    })
    .await;
    settled(&app).await;
    let linked = opps
        .iter()
        .filter(|o| s.live_link_count(&sim, o) == 1)
        .count();
    assert_eq!(linked, 10, "exactly the window's candidates are linked");
    assert_eq!(
        app.events(&s.org, &s.key, "?status=dead&limit=100")
            .await
            .len(),
        20
    );
}

#[actix_rt::test]
async fn the_events_page_counts_a_window_of_dead_events_before_replaying_them() {
    use crate::console::Browser;

    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    s.remove_role(&app).await;
    let opps = s.candidates(&sim, 4);
    s.move_to(&sim, &opps, &s.stage);
    let dead = poll_until(60, "4 dead events", || async {
        let d = app.events(&s.org, &s.key, "?status=dead&limit=100").await;
        (d.len() == 4).then_some(d)
    })
    .await;
    settled(&app).await;
    let old: Vec<String> = dead[..2]
        .iter()
        .map(|e| format!("'{}'", e["id"].as_str().unwrap()))
        .collect();
    diesel::sql_query(format!(
        "UPDATE lever_events SET updated_at = now() - interval '40 hours' WHERE id IN ({})",
        old.join(",")
    ))
    .execute(&mut app.db())
    .unwrap();
    let base = format!("/console/orgs/{}/events", s.org);
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&s.key).await.status, 303);
    let events = b.get(&base).await;
    assert!(
        events.body.contains(&format!("{base}/bulk-replay")),
        "{}",
        events.body
    );

    // The window's count first; nothing runs until the button.
    let since = (chrono::Utc::now() - chrono::Duration::hours(30))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let page = b
        .get(&format!("{base}/bulk-replay?since={since}&until="))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<strong>2</strong>"), "{}", page.body);
    assert!(page.body.contains("Replay 2 events"), "{}", page.body);
    let bad = b.get(&format!("{base}/bulk-replay?since=yesterday")).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"since-error\""), "{}", bad.body);
    assert_eq!(
        app.events(&s.org, &s.key, "?status=dead&limit=100")
            .await
            .len(),
        4
    );

    s.add_backend_role(&app).await;
    let csrf = page.csrf();
    let done = b
        .post(
            &format!("{base}/bulk-replay"),
            &[
                ("csrf", csrf.as_str()),
                ("since", since.as_str()),
                ("until", ""),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location().ends_with("/events?done=bulk&count=2"),
        "{}",
        done.location()
    );
    poll_until(60, "the two replayed", || async {
        let d = app.events(&s.org, &s.key, "?status=dead&limit=100").await;
        (d.len() == 2).then_some(())
    })
    .await;
    // A member has no such link.
    let (member, _) = app.new_key(&s.org, &s.key, "member", "m").await;
    let mut m = Browser::new(&app);
    assert_eq!(m.sign_in(&member).await.status, 303);
    assert!(!m.get(&base).await.body.contains("bulk-replay"));
}
