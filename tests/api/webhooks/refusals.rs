//! Deliveries that are refused: 401 (counted, nothing stored), 413, 400, 404,
//! each with the error shape and no trace in the database. Refusing costs
//! no database round trip: unknown ids are refused from memory, refusals
//! are counted in memory and written every few seconds.

use serde_json::json;

use super::{KEY, STAGE, footprint, new_token, now_ms, setup, signed, stage_change};
use crate::helpers::{TestApp, poll_until, spawn_app_behind_proxy};

/// Waits until the connection's footprint is `want` (refusal counts are
/// written every few seconds), then checks it stays so.
async fn footprint_becomes(app: &TestApp, conn: &str, want: (i64, i64, i64)) {
    poll_until(30, "the refusal counts written", || async {
        (footprint(app, conn) == want).then_some(())
    })
    .await;
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[actix_web::test]
async fn bad_signatures_are_401_and_only_counted() {
    let s = setup("active").await;
    let data = json!({"opportunityId": "opp-1", "toStageId": STAGE});
    let wrong_key = stage_change("not-the-key", "opp-1", STAGE);
    let mut not_hex = stage_change(KEY, "opp-1", STAGE);
    not_hex["signature"] = json!("z".repeat(64));
    let old = signed(
        KEY,
        &new_token(),
        now_ms() - 16 * DAY_MS,
        "candidateStageChange",
        data.clone(),
    );
    let ahead = signed(
        KEY,
        &new_token(),
        now_ms() + 10 * 60 * 1000,
        "candidateStageChange",
        data,
    );
    let cases = [
        (wrong_key, "does not match"),
        (not_hex, "hex"),
        (old, "15 days"),
        (ahead, "future"),
    ];
    for (body, says) in &cases {
        let r = s.app.post_webhook(&s.conn, body).await;
        r.assert_error(401, "invalid_signature");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    footprint_becomes(&s.app, &s.conn, (0, 4, 0)).await;
}

#[actix_web::test]
async fn a_connection_without_signature_tokens_refuses_everything() {
    let s = setup("active").await;
    let (org2, _) = s.app.new_org("No hooks").await;
    let conn = s.app.insert_connection(&org2, "active", Some(STAGE), &[]);
    s.app
        .post_webhook(&conn, &stage_change(KEY, "opp-1", STAGE))
        .await
        .assert_error(401, "invalid_signature");
    footprint_becomes(&s.app, &conn, (0, 1, 0)).await;
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413() {
    let s = setup("active").await;
    let mut big = stage_change(KEY, "opp-1", STAGE);
    big["data"]["pad"] = json!("");
    let room = 64 * 1024 + 1 - serde_json::to_vec(&big).unwrap().len();
    big["data"]["pad"] = json!("x".repeat(room));
    let bytes = serde_json::to_vec(&big).unwrap();
    assert_eq!(bytes.len(), 64 * 1024 + 1);
    s.app
        .post_webhook_as(&s.conn, "application/json", bytes)
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(footprint(&s.app, &s.conn), (0, 0, 0));
}

#[actix_web::test]
async fn malformed_bodies_are_400() {
    let s = setup("active").await;
    let raw = |b: &[u8]| b.to_vec();
    let mut bodies = vec![raw(b"not json"), raw(b""), raw(b"[1,2]")];
    for field in ["token", "triggeredAt", "signature", "event"] {
        let mut body = stage_change(KEY, "opp-1", STAGE);
        body.as_object_mut().unwrap().remove(field);
        bodies.push(serde_json::to_vec(&body).unwrap());
    }
    let mut as_string = stage_change(KEY, "opp-1", STAGE);
    as_string["triggeredAt"] = json!(as_string["triggeredAt"].to_string());
    bodies.push(serde_json::to_vec(&as_string).unwrap());
    for body in bodies {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let r = s
            .app
            .post_webhook_as(&s.conn, "application/json", body)
            .await;
        assert_eq!(r.status, 400, "{shown}: {}", r.body);
        r.assert_error(400, "invalid_json");
    }
    assert_eq!(footprint(&s.app, &s.conn), (0, 0, 0));
}

#[actix_web::test]
async fn unknown_and_malformed_connection_ids_are_404() {
    let s = setup("active").await;
    let body = stage_change(KEY, "opp-1", STAGE);
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        s.app
            .post_webhook(&id, &body)
            .await
            .assert_error(404, "not_found");
    }
    assert_eq!(footprint(&s.app, &s.conn), (0, 0, 0));
    let total = s.app.count("SELECT count(*) AS n FROM lever_events");
    assert_eq!(total, 0);
}

#[actix_web::test]
async fn a_streamed_body_over_64_kib_is_413_too() {
    let s = setup("active").await;
    // Chunked, so no Content-Length announces the size up front.
    let chunks: Vec<Result<actix_web::web::Bytes, std::io::Error>> = (0..9)
        .map(|_| Ok(actix_web::web::Bytes::from(vec![b' '; 8 * 1024])))
        .collect();
    let mut res = s
        .app
        .client
        .post(format!("{}/webhooks/lever/{}", s.app.address, s.conn))
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let body: serde_json::Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    assert_eq!(footprint(&s.app, &s.conn), (0, 0, 0));
}

#[actix_web::test]
async fn forged_deliveries_are_refused_while_the_database_is_away() {
    let app = spawn_app_behind_proxy().await;
    let (org, _) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some(STAGE), &[KEY]);
    let ok = app
        .post_webhook(&conn, &stage_change(KEY, "opp-1", "stage-x"))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    app.proxy.as_ref().unwrap().cut();
    // Unknown ids: 404 from memory, not 503 for want of a database.
    for _ in 0..50 {
        let id = uuid::Uuid::new_v4().to_string();
        app.post_webhook(&id, &stage_change(KEY, "opp-1", STAGE))
            .await
            .assert_error(404, "not_found");
    }
    // Bad signatures: refused from the cached keys while they last (then
    // 503: the keys cannot be read); each 401 is counted in memory.
    let mut refused = 0;
    for _ in 0..20 {
        let r = app
            .post_webhook(&conn, &stage_change("forged", "opp-1", STAGE))
            .await;
        match r.status {
            401 => refused += 1,
            503 => break,
            other => panic!("{other}: {}", r.body),
        }
    }
    // Counts that could not be written meanwhile are written once it is back.
    app.proxy.as_ref().unwrap().restore();
    footprint_becomes(&app, &conn, (1, refused, 1)).await;
}

#[actix_web::test]
async fn a_connection_created_elsewhere_is_heard_of() {
    let s = setup("active").await;
    // Written as another instance's connect flow would: only the table's
    // trigger tells this instance.
    let id = uuid::Uuid::new_v4();
    let (org, _) = s.app.new_org("Elsewhere").await;
    crate::interviews_read::seed::exec(
        &s.app,
        &format!(
            "INSERT INTO connections (id, org_id, status, stage_id, stage_found) \
             VALUES ('{id}', '{org}', 'active', '{STAGE}', true)"
        ),
    );
    let conn = id.to_string();
    s.app.add_signature_token(&conn, KEY, false);
    poll_until(30, "a delivery to the new connection accepted", || async {
        let r = s
            .app
            .post_webhook(&conn, &stage_change(KEY, "opp-2", "stage-x"))
            .await;
        match r.status {
            200 => Some(()),
            404 => None,
            other => panic!("{other}: {}", r.body),
        }
    })
    .await;
}
