//! The OpenAPI document matches the code (schemathesis findings):
//! every status a route can give is listed, optional bodies are optional,
//! `limit` of any size clamps, unknown methods on known paths are 405, and
//! only lowercase hex signatures verify.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::webhooks::{KEY, STAGE, footprint, setup, stage_change};

#[actix_web::test]
async fn the_document_lists_every_status_and_optional_bodies() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let mut ops = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops += 1;
            let responses = op["responses"].as_object().unwrap();
            let mut expected = vec!["401", "503"];
            if path.contains('{') {
                expected.push("404");
            }
            if let Some(body) = op.get("requestBody") {
                expected.extend(["400", "413", "415", "422"]);
                let optional = path.ends_with("/lever/connect");
                assert_eq!(
                    body["required"].as_bool().unwrap_or(false),
                    !optional,
                    "{method} {path}: {body}"
                );
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }
    assert!(ops >= 25, "{ops}");
}

#[actix_web::test]
async fn a_huge_limit_is_clamped_and_one_below_1_refused() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    for query in ["limit=-1", "limit=0", "limit=-99999999999999999999999"] {
        app.list_orgs(&format!("?{query}"), Some(&app.admin()))
            .await
            .assert_error(422, "validation_failed");
        for list in ["roles", "interviews", "events", "keys"] {
            app.get(&format!("/api/v1/orgs/{org}/{list}?{query}"), Some(&key))
                .await
                .assert_error(422, "validation_failed");
        }
    }
    for query in ["limit=9223372036854775808", "limit=99999999999999999999999"] {
        let r = app
            .list_orgs(&format!("?{query}"), Some(&app.admin()))
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        for list in ["roles", "interviews", "events", "keys"] {
            let r = app
                .get(&format!("/api/v1/orgs/{org}/{list}?{query}"), Some(&key))
                .await;
            assert_eq!(r.status, 200, "{list} {query}: {}", r.body);
        }
    }
    app.list_orgs("?limit=ten", Some(&app.admin()))
        .await
        .assert_error(400, "invalid_query");
}

#[actix_web::test]
async fn unknown_methods_on_known_paths_are_405_with_allow() {
    let app = spawn_app().await;
    let (org, _) = app.new_org("Acme").await;
    for (method, path, allowed) in [
        ("TRACE", "/api/v1/orgs".to_owned(), "GET, POST"),
        ("PUT", format!("/api/v1/orgs/{org}"), "GET"),
        ("DELETE", "/healthz".to_owned(), "GET"),
        ("GET", format!("/webhooks/lever/{org}"), "POST"),
        ("TRACE", "/api/v1/openapi.json".to_owned(), "GET"),
    ] {
        let m = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut res = app
            .client
            .request(m, format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{method} {path}");
        let allow = res
            .headers()
            .get("allow")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(allow, allowed, "{method} {path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    }
    app.request("TRACE", "/no/such/path", None, None)
        .await
        .assert_error(404, "not_found");
}

#[actix_web::test]
async fn uppercase_hex_signatures_are_refused() {
    let s = setup("active").await;
    let mut body = stage_change(KEY, "opp-1", STAGE);
    let upper = body["signature"].as_str().unwrap().to_uppercase();
    body["signature"] = json!(upper);
    let r = s.app.post_webhook(&s.conn, &body).await;
    r.assert_error(401, "invalid_signature");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lowercase")
    );
    assert_eq!(footprint(&s.app, &s.conn).0, 0);
}

#[actix_web::test]
async fn the_super_admin_on_an_unknown_org_gets_404_not_500() {
    let app = spawn_app().await;
    let org = uuid::Uuid::new_v4();
    for (path, body) in [
        (format!("/api/v1/orgs/{org}/keys"), json!({"role": "admin"})),
        (
            format!("/api/v1/orgs/{org}/roles"),
            json!({"name": "Backend"}),
        ),
    ] {
        app.post_json(&path, Some(&app.admin()), &body)
            .await
            .assert_error(404, "not_found");
    }
}

#[actix_web::test]
async fn a_body_too_large_is_413_in_the_error_envelope_on_every_body_route() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let big = {
        let mut b = br#"{"stage_name":""#.to_vec();
        b.extend(std::iter::repeat_n(b'x', 1024 * 1024));
        b.extend(br#""}"#);
        b
    };
    for (method, path) in [
        ("POST", format!("/api/v1/orgs/{org}/lever/connect")),
        ("POST", format!("/api/v1/orgs/{org}/roles")),
        ("POST", format!("/api/v1/orgs/{org}/keys")),
        ("PATCH", format!("/api/v1/orgs/{org}/lever")),
    ] {
        let r = app
            .request(
                method,
                &path,
                Some(&key),
                Some(("application/json", big.clone())),
            )
            .await;
        r.assert_error(413, "payload_too_large");
    }
    // An empty body is still "all defaults" on connect (here: Lever is not configured).
    let r = app
        .request(
            "POST",
            &format!("/api/v1/orgs/{org}/lever/connect"),
            Some(&key),
            None,
        )
        .await;
    r.assert_error(503, "lever_not_configured");
}
