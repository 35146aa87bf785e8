//! Deliveries that are accepted: stored pending or ignored, deduplicated,
//! verified by any of the connection's tokens, in any connection status.

use serde_json::json;

use super::{KEY, KEY2, STAGE, footprint, new_token, now_ms, setup, signed, stage_change, stored};
use crate::helpers::{spawn_app, spawn_app_behind_proxy};

#[actix_web::test]
async fn a_valid_delivery_is_stored_pending() {
    let s = setup("active").await;
    let body = stage_change(KEY, "opp-1", STAGE);
    let r = s.app.post_webhook(&s.conn, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"status": "accepted"}));
    let token = body["token"].as_str().unwrap();
    assert_eq!(stored(&s.app, token), ("pending".into(), None));
    let cols = s.app.count(&format!(
        "SELECT count(*) AS n FROM lever_events WHERE token = '{token}' \
         AND event = 'candidateStageChange' AND opportunity_id = 'opp-1' \
         AND to_stage_id = '{STAGE}' AND from_stage_id = 'stage-phone-screen' \
         AND triggered_at = {} AND payload = '{}' AND org_id = '{}'",
        body["triggeredAt"], body, s.org
    ));
    assert_eq!(cols, 1, "every column filled, payload as received");
    let received = s.app.count(&format!(
        "SELECT count(*) AS n FROM connection_health WHERE connection_id = '{}' \
         AND last_received_at > now() - interval '1 minute'",
        s.conn
    ));
    assert_eq!(received, 1);
    let mut metrics = s
        .app
        .client
        .get(format!("{}/metrics", s.app.address))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(metrics.body().await.unwrap().to_vec()).unwrap();
    assert!(
        text.contains("arkiter_webhooks_total{outcome=\"accepted\"}"),
        "{text}"
    );
    // Counted by the handler itself, under the route's pattern.
    assert!(
        text.contains(
            "arkiter_http_requests_total{method=\"POST\",route=\"/webhooks/lever/{connection_id}\",status=\"200\"}"
        ),
        "{text}"
    );
}

#[actix_web::test]
async fn the_same_delivery_again_is_one_row() {
    let s = setup("active").await;
    let body = stage_change(KEY, "opp-1", STAGE);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let r = s.app.post_webhook(&s.conn, &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        answers.push(r.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(answers, ["accepted", "duplicate", "duplicate"]);
    assert_eq!(footprint(&s.app, &s.conn).0, 1);
}

#[actix_web::test]
async fn a_copy_from_a_second_webhook_is_a_duplicate() {
    let s = setup("active").await;
    s.app.add_signature_token(&s.conn, KEY2, false);
    let at = now_ms();
    let data = json!({"opportunityId": "opp-1", "toStageId": STAGE});
    let first = signed(KEY, &new_token(), at, "candidateStageChange", data.clone());
    let copy = signed(KEY2, &new_token(), at, "candidateStageChange", data);
    let r1 = s.app.post_webhook(&s.conn, &first).await;
    let r2 = s.app.post_webhook(&s.conn, &copy).await;
    assert_eq!(r1.body["status"], "accepted", "{}", r1.body);
    assert_eq!(r2.body["status"], "duplicate", "{}", r2.body);
    assert_eq!(footprint(&s.app, &s.conn).0, 1);
}

#[actix_web::test]
async fn a_lifecycle_change_from_a_second_webhook_is_a_duplicate() {
    let s = setup("active").await;
    s.app.add_signature_token(&s.conn, KEY2, false);
    let at = now_ms();
    let archived = json!({"opportunityId": "opp-1",
        "toArchived": {"archivedAt": at, "reason": "r1"}, "fromArchived": null});
    let unarchived = json!({"opportunityId": "opp-1", "toArchived": null,
        "fromArchived": {"archivedAt": at, "reason": "r1"}});
    let hired = json!({"opportunityId": "opp-1"});
    let mut answers = Vec::new();
    for (key, event, data) in [
        (KEY, "candidateArchiveChange", &archived),
        // The same archive from the account's second webhook.
        (KEY2, "candidateArchiveChange", &archived),
        // At the same instant: an unarchive, a hire, another candidate.
        (KEY, "candidateArchiveChange", &unarchived),
        (KEY2, "candidateHired", &hired),
        (KEY, "candidateHired", &hired),
        (KEY, "candidateHired", &json!({"opportunityId": "opp-2"})),
    ] {
        let body = signed(key, &new_token(), at, event, data.clone());
        let r = s.app.post_webhook(&s.conn, &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        answers.push(r.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        answers,
        [
            "accepted",
            "duplicate",
            "accepted",
            "accepted",
            "duplicate",
            "accepted"
        ]
    );
    assert_eq!(footprint(&s.app, &s.conn).0, 4);
}

#[actix_web::test]
async fn every_signature_token_verifies_including_replaced_ones() {
    let s = setup("active").await;
    s.app.add_signature_token(&s.conn, KEY2, false);
    s.app
        .add_signature_token(&s.conn, "token-of-a-deleted-webhook", true);
    for (i, key) in [KEY, KEY2, "token-of-a-deleted-webhook"].iter().enumerate() {
        let body = stage_change(key, &format!("opp-{i}"), STAGE);
        let r = s.app.post_webhook(&s.conn, &body).await;
        assert_eq!(r.body["status"], "accepted", "{key}: {}", r.body);
    }
    assert_eq!(footprint(&s.app, &s.conn).0, 3);
}

#[actix_web::test]
async fn pings_other_events_and_other_stages_are_ignored() {
    let s = setup("active").await;
    let ping = signed(KEY, &new_token(), now_ms(), "candidateHired", json!({}));
    let other = signed(
        KEY,
        &new_token(),
        now_ms(),
        "applicationCreated",
        json!({"opportunityId": "opp-1"}),
    );
    let elsewhere = stage_change(KEY, "opp-2", "stage-onsite");
    for (body, reason) in [
        (&ping, "test_ping"),
        (&other, "other_event"),
        (&elsewhere, "other_stage"),
    ] {
        let r = s.app.post_webhook(&s.conn, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body, json!({"status": "ignored", "reason": reason}));
        let token = body["token"].as_str().unwrap();
        assert_eq!(
            stored(&s.app, token),
            ("ignored".into(), Some(reason.into()))
        );
    }
}

#[actix_web::test]
async fn every_connection_status_stores_deliveries() {
    let app = spawn_app().await;
    for status in ["pending", "needs_setup", "needs_reauth", "disconnected"] {
        let (org, _) = app.new_org(status).await;
        let conn = app.insert_connection(&org, status, Some(STAGE), &[KEY]);
        let body = stage_change(KEY, "opp-1", STAGE);
        let r = app.post_webhook(&conn, &body).await;
        assert_eq!(r.body["status"], "accepted", "{status}: {}", r.body);
        assert_eq!(stored(&app, body["token"].as_str().unwrap()).0, "pending");
    }
    // No stage id yet (setup has not found it): kept for the worker to judge.
    let (org, _) = app.new_org("no stage").await;
    let conn = app.insert_connection(&org, "needs_setup", None, &[KEY]);
    let r = app
        .post_webhook(&conn, &stage_change(KEY, "opp-1", "any-stage"))
        .await;
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
}

#[actix_web::test]
async fn any_content_type_and_exactly_64_kib_are_accepted() {
    let s = setup("active").await;
    let body = stage_change(KEY, "opp-1", STAGE);
    let r = s
        .app
        .post_webhook_as(&s.conn, "text/plain", serde_json::to_vec(&body).unwrap())
        .await;
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
    let mut big = stage_change(KEY, "opp-2", STAGE);
    big["data"]["pad"] = json!("");
    let room = 64 * 1024 - serde_json::to_vec(&big).unwrap().len();
    big["data"]["pad"] = json!("x".repeat(room));
    let bytes = serde_json::to_vec(&big).unwrap();
    assert_eq!(bytes.len(), 64 * 1024);
    let r = s
        .app
        .post_webhook_as(&s.conn, "application/json", bytes)
        .await;
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
}

#[actix_web::test]
async fn a_database_that_cannot_take_the_write_gives_503() {
    let app = spawn_app_behind_proxy().await;
    let (org, _) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some(STAGE), &[KEY]);
    let r = app
        .post_webhook(&conn, &stage_change(KEY, "opp-1", STAGE))
        .await;
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
    let proxy = app.proxy.as_ref().unwrap();
    proxy.cut();
    let body = stage_change(KEY, "opp-2", STAGE);
    app.post_webhook(&conn, &body)
        .await
        .assert_error(503, "unavailable");
    proxy.restore();
    // Lever's retry of the same delivery then goes through. When the cut
    // fell between the commit and its acknowledgement, the first attempt was
    // stored after all, and the retry is answered as its duplicate: either
    // way the event is there exactly once.
    let r = app.post_webhook(&conn, &body).await;
    let status = r.body["status"].as_str().unwrap_or_default();
    assert!(status == "accepted" || status == "duplicate", "{}", r.body);
    assert_eq!(footprint(&app, &conn).0, 2);
}

#[actix_web::test]
async fn a_stage_change_takes_effect_once_the_cache_is_invalidated() {
    use diesel::RunQueryDsl;
    let s = setup("active").await;
    let r = s
        .app
        .post_webhook(&s.conn, &stage_change(KEY, "opp-1", "stage-new"))
        .await;
    assert_eq!(r.body["reason"], "other_stage", "{}", r.body);
    diesel::sql_query(format!(
        "UPDATE connections SET stage_id = 'stage-new' WHERE id = '{}'",
        s.conn
    ))
    .execute(&mut s.app.db())
    .unwrap();
    // What the connect flow calls after changing the stage or the webhooks.
    arkiter_lever::ingest::invalidate(uuid::Uuid::parse_str(&s.conn).unwrap().into());
    let r = s
        .app
        .post_webhook(&s.conn, &stage_change(KEY, "opp-2", "stage-new"))
        .await;
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
}

/// A webhook added by another instance (a reconnect there) is heard of
/// through the table's trigger: its token verifies here before the cached
/// copy's 60-s lifetime runs out (the poll's deadline is 30 s).
#[actix_web::test]
async fn a_signature_token_added_elsewhere_verifies_at_once() {
    let s = setup("active").await;
    let r = s
        .app
        .post_webhook(&s.conn, &stage_change(KEY2, "opp-1", STAGE))
        .await;
    assert_eq!(
        r.status, 401,
        "not yet a token of this connection: {}",
        r.body
    );
    s.app.insert_webhook(&s.conn, KEY2, false);
    crate::helpers::poll_until(30, "the new token verifies", || async {
        let r = s
            .app
            .post_webhook(&s.conn, &stage_change(KEY2, "opp-1", STAGE))
            .await;
        match r.status {
            200 => Some(()),
            401 => None,
            other => panic!("{other}: {}", r.body),
        }
    })
    .await;
}

/// `arkiter_ingest_row_by_row_total` as `/metrics` shows it (absent: 0).
async fn row_by_row_batches(app: &crate::helpers::TestApp) -> u64 {
    let text = app.get_text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("arkiter_ingest_row_by_row_total "))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[actix_web::test]
async fn a_locked_events_table_answers_503_at_once_and_splits_nothing() {
    use diesel::connection::SimpleConnection;
    let s = setup("active").await;
    let before = row_by_row_batches(&s.app).await;
    // An operator (or a migration) holds the table for about 15 s.
    let (locked_tx, locked) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let mut db = s.app.db();
    let holder = std::thread::spawn(move || {
        db.batch_execute("BEGIN; LOCK TABLE lever_events IN EXCLUSIVE MODE")
            .unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(std::time::Duration::from_secs(30));
        db.batch_execute("COMMIT").unwrap();
    });
    locked.recv().unwrap();
    let held_since = std::time::Instant::now();
    let bodies: Vec<_> = (0..6)
        .map(|i| stage_change(KEY, &format!("opp-{i}"), STAGE))
        .collect();
    // Rounds of deliveries arriving together (so that they share batches),
    // for as long as the lock is surely held.
    let mut rounds = 0;
    while held_since.elapsed() < std::time::Duration::from_millis(12_500) {
        let started = std::time::Instant::now();
        let answers =
            futures_util::future::join_all(bodies.iter().map(|b| s.app.post_webhook(&s.conn, b)))
                .await;
        let took = started.elapsed();
        for r in answers {
            r.assert_error(503, "unavailable");
        }
        assert!(
            took <= std::time::Duration::from_millis(2500),
            "a delivery waited {took:?} behind the lock"
        );
        rounds += 1;
    }
    assert!(rounds >= 3, "{rounds} rounds");
    assert_eq!(
        row_by_row_batches(&s.app).await,
        before,
        "a batch that met a lock was tried again row by row"
    );
    release.send(()).unwrap();
    holder.join().unwrap();
    // Lever's retries go through as soon as the lock is gone.
    for b in &bodies {
        let r = s.app.post_webhook(&s.conn, b).await;
        assert_eq!(r.body["status"], "accepted", "{}", r.body);
    }
    assert_eq!(footprint(&s.app, &s.conn).0, 6);
}
