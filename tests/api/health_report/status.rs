//! Each status of the report, and the sections that come with it.

use serde_json::{Value, json};

use super::{codes, counter, health, healthy_org, message};
use crate::helpers::spawn_app_without_pipeline;
use crate::interviews_read::seed::{self, Conn, Iv};

#[actix_web::test]
async fn never_connected_is_not_connected_with_empty_sections() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let h = health(&app, &org, &member).await;
    assert_eq!(h["status"], "not_connected");
    assert!(h["checked_at"].is_string());
    assert_eq!(
        h["token"],
        json!({"state": null, "expires_at": null, "last_refreshed_at": null})
    );
    assert_eq!(
        h["webhook"],
        json!({"managed": false, "last_received_at": null, "rejected_last_hour": 0})
    );
    assert_eq!(
        h["stage"],
        json!({"id": null, "name": null, "found": false})
    );
    assert_eq!(
        h["queue"],
        json!({"pending": 0, "retrying": 0, "dead": 0, "oldest_pending_age_s": 0})
    );
    assert_eq!(
        h["lever_api"],
        json!({"last_success_at": null, "last_error": null, "errors_last_hour": 0, "throttled_until": null})
    );
    assert_eq!(h["latency_ms"], json!({"link_p50": null, "link_p95": null}));
    assert_eq!(
        h["supervisor"],
        json!({"running": false, "instance": null, "heartbeat_at": null, "restarts": 0})
    );
    assert_eq!(
        (&h["unmapped_postings"], &h["problems"]),
        (&json!([]), &json!([]))
    );
}

#[actix_web::test]
async fn a_pending_connection_is_pending() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let pending = Conn {
        status: "pending",
        token_state: "invalid",
        connected_ago_s: None,
        ..Conn::default()
    };
    seed::connection(&app, &org, pending);
    let h = health(&app, &org, &member).await;
    assert_eq!(h["status"], "pending");
    assert_eq!(h["token"]["state"], "invalid");
    assert_eq!(h["stage"]["name"], "Arkiter Live");
    assert_eq!(h["problems"], json!([]), "no supervisor is expected yet");
}

#[actix_web::test]
async fn a_dead_event_degrades_and_says_to_replay() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    seed::event(&app, &org, &conn, "dead", 600.0);
    let h = health(&app, &org, &member).await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["queue"]["dead"], 1);
    assert_eq!(codes(&h), ["dead_jobs"]);
    let m = message(&h, "dead_jobs");
    assert!(
        m.starts_with("1 piece of work stopped") && m.contains("replay"),
        "{m}"
    );
}

#[actix_web::test]
async fn an_unmapped_posting_degrades_until_it_is_mapped() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    for (ago, rule) in [(900.0, "fallback"), (300.0, "any")] {
        let iv = Iv {
            status: "completed",
            posting_id: Some("post-9"),
            title: Some("Designer"),
            rule,
            created_ago_s: ago,
            ..Iv::default()
        };
        seed::interview(&app, &org, &conn, iv);
    }
    let h = health(&app, &org, &member).await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(
        h["unmapped_postings"],
        json!([{"posting_id": "post-9", "title": "Designer", "rule": "any"}])
    );
    let m = message(&h, "unmapped_postings");
    assert!(m.contains("\"Designer\" (posting post-9)"), "{m}");

    let admin = app.admin();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{org}/roles"),
            Some(&admin),
            &json!({"name": "Design", "ats_jobs": [" designer "]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let h = health(&app, &org, &member).await;
    assert_eq!(
        (&h["status"], &h["unmapped_postings"]),
        (&json!("healthy"), &json!([]))
    );
}

#[actix_web::test]
async fn lever_errors_in_the_last_hour_degrade() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    counter(&app, &conn, "lever_error", 90, 7);
    assert_eq!(health(&app, &org, &member).await["status"], "healthy");
    counter(&app, &conn, "lever_error", 0, 2);
    counter(&app, &conn, "lever_error", 59, 1);
    let h = health(&app, &org, &member).await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["lever_api"]["errors_last_hour"], 3);
}

async fn stored_status(status: &str, token_state: &str, problem: Option<&str>) -> Value {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let problems = problem.map_or(
        json!([]),
        |code| json!([{"code": code, "message": format!("stored {code}")}]),
    );
    let c = Conn {
        status,
        token_state,
        stage_found: problem != Some("stage_missing"),
        problems,
        ..Conn::default()
    };
    let conn = seed::connection(&app, &org, c);
    seed::event(&app, &org, &conn, "dead", 60.0);
    health(&app, &org, &member).await
}

#[actix_web::test]
async fn needs_setup_shows_the_stored_problem() {
    let h = stored_status("needs_setup", "valid", Some("stage_missing")).await;
    assert_eq!(h["status"], "needs_setup");
    assert_eq!(h["stage"]["found"], false);
    // Connected an hour ago and no heartbeat ever: its supervisor is missing too.
    assert_eq!(
        codes(&h),
        ["stage_missing", "dead_jobs", "supervisor_stale"]
    );
    assert_eq!(message(&h, "stage_missing"), "stored stage_missing");
}

#[actix_web::test]
async fn needs_reauth_shows_token_revoked() {
    let h = stored_status("needs_reauth", "invalid", Some("token_revoked")).await;
    assert_eq!(h["status"], "needs_reauth");
    assert_eq!(h["token"]["state"], "invalid");
    assert_eq!(codes(&h), ["token_revoked", "dead_jobs"]);
}

#[actix_web::test]
async fn disconnected_stays_disconnected_whatever_the_figures() {
    let h = stored_status("disconnected", "invalid", None).await;
    assert_eq!(h["status"], "disconnected");
    assert_eq!(h["queue"]["dead"], 1);
    assert_eq!(codes(&h), ["dead_jobs"], "no supervisor is expected");
}

#[actix_web::test]
async fn only_the_orgs_own_keys_and_the_super_admin_read_it() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, _) = healthy_org(&app).await;
    let (_, other_key) = app.new_org("Other").await;
    let path = format!("/api/v1/orgs/{org}/lever/health");
    app.get(&path, Some(&other_key))
        .await
        .assert_error(404, "not_found");
    app.get(&path, None).await.assert_error(401, "unauthorized");
    assert_eq!(health(&app, &org, &app.admin()).await["status"], "healthy");
    let unknown = format!("/api/v1/orgs/{}/lever/health", uuid::Uuid::new_v4());
    app.get(&unknown, Some(&app.admin()))
        .await
        .assert_error(404, "not_found");
}

#[actix_web::test]
async fn the_openapi_document_has_the_routes_and_the_report_shape() {
    let app = spawn_app_without_pipeline().await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    for (path, method) in [
        ("/api/v1/orgs/{org}/lever/health", "get"),
        ("/api/v1/orgs/{org}/interviews", "get"),
        ("/api/v1/orgs/{org}/interviews/{id}", "get"),
        ("/api/v1/live/{live_token}", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let report = &doc["components"]["schemas"]["HealthReport"]["properties"];
    for section in [
        "status",
        "token",
        "webhook",
        "stage",
        "queue",
        "lever_api",
        "latency_ms",
    ] {
        assert!(report[section].is_object(), "{section} in {report}");
    }
    for section in ["supervisor", "unmapped_postings", "problems", "checked_at"] {
        assert!(report[section].is_object(), "{section} in {report}");
    }
}
