//! Every error status of docs/contract/http-api.md the org and key routes can produce, each
//! with the one error shape.

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn bad_bodies_get_400_413_415_422() {
    let app = spawn_app().await;
    let admin = app.admin();
    let post = |ct: &'static str, body: Vec<u8>| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.request("POST", "/api/v1/orgs", Some(&admin), Some((ct, body)))
                .await
        }
    };
    post("application/json", b"{not json".to_vec())
        .await
        .assert_error(400, "invalid_json");
    post("application/json", b"{}".to_vec())
        .await
        .assert_error(400, "invalid_json");
    post("application/json", br#"{"name":"a","extra":1}"#.to_vec())
        .await
        .assert_error(400, "invalid_json");
    post("application/json", br#"{"name":5}"#.to_vec())
        .await
        .assert_error(400, "invalid_json");
    post("text/plain", br#"{"name":"a"}"#.to_vec())
        .await
        .assert_error(415, "unsupported_media_type");
    let huge = serde_json::to_vec(&json!({"name": "a".repeat(70 * 1024)})).unwrap();
    post("application/json", huge)
        .await
        .assert_error(413, "payload_too_large");
    post("application/json", br#"{"name":"   "}"#.to_vec())
        .await
        .assert_error(422, "validation_failed");
    let long = serde_json::to_vec(&json!({"name": "x".repeat(201)})).unwrap();
    post("application/json", long)
        .await
        .assert_error(422, "validation_failed");
    // Nothing was stored by any of these.
    let list = app.list_orgs("", Some(&admin)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn key_bodies_are_validated() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    app.create_key(&org, Some(&key), &json!({"role": "owner"}))
        .await
        .assert_error(400, "invalid_json");
    app.create_key(&org, Some(&key), &json!({"label": "x"}))
        .await
        .assert_error(400, "invalid_json");
    app.create_key(
        &org,
        Some(&key),
        &json!({"role": "member", "label": "l".repeat(201)}),
    )
    .await
    .assert_error(422, "validation_failed");
    let list = app.list_keys(&org, Some(&key)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn unknown_ids_routes_and_methods() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.get_org(&uuid::Uuid::new_v4().to_string(), Some(&admin))
        .await
        .assert_error(404, "not_found");
    app.get_org("not-a-uuid", Some(&admin))
        .await
        .assert_error(404, "not_found");
    app.get("/no/such/route", None)
        .await
        .assert_error(404, "not_found");
    // An unsupported method on a known path: 405, with `Allow`
    // (checked in hostile::contract).
    app.request("PUT", "/api/v1/orgs", Some(&admin), None)
        .await
        .assert_error(405, "method_not_allowed");
}
