//! Liveness, readiness (with the database cut and restored), metrics, OpenAPI.

use crate::helpers::{poll_until, spawn_app, spawn_app_behind_proxy};

#[actix_web::test]
async fn healthz_and_readyz() {
    let app = spawn_app().await;
    let h = app.get("/healthz", None).await;
    assert_eq!((h.status, h.body["status"].as_str()), (200, Some("ok")));
    let r = app.readyz().await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[actix_web::test]
async fn readyz_follows_the_database_without_a_restart() {
    let app = spawn_app_behind_proxy().await;
    assert_eq!(app.readyz().await.status, 200);
    let proxy = app.proxy.as_ref().unwrap();
    proxy.cut();
    let down = poll_until(30, "readyz 503", || async {
        let r = app.readyz().await;
        (r.status == 503).then_some(r)
    })
    .await;
    assert!(
        down.body["reason"].as_str().unwrap().contains("database"),
        "{}",
        down.body
    );
    assert_eq!(down.body["database"], "down");
    proxy.restore();
    poll_until(30, "readyz 200 again", || async {
        (app.readyz().await.status == 200).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app().await;
    app.get_org(&uuid::Uuid::new_v4().to_string(), Some(&app.admin()))
        .await;
    let text = app.get_text("/metrics").await;
    assert!(
        text.contains(r#"route="/api/v1/orgs/{org}""#),
        "route label missing"
    );
    assert!(text.contains("arkiter_http_request_duration_seconds"));
}

#[actix_web::test]
async fn openapi_covers_every_admin_route() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/orgs", "post"),
        ("/api/v1/orgs", "get"),
        ("/api/v1/orgs/{org}", "get"),
        ("/api/v1/orgs/{org}/keys", "get"),
        ("/api/v1/orgs/{org}/keys", "post"),
        ("/api/v1/orgs/{org}/keys/{key_id}", "delete"),
        ("/api/v1/orgs/{org}/lever/connect", "post"),
        ("/api/v1/orgs/{org}/lever", "get"),
        ("/api/v1/orgs/{org}/lever", "patch"),
        ("/api/v1/orgs/{org}/lever", "delete"),
        ("/api/v1/orgs/{org}/lever/webhook-secret", "put"),
        ("/api/v1/orgs/{org}/lever/sweep", "post"),
        ("/api/v1/orgs/{org}/lever/health", "get"),
        ("/api/v1/orgs/{org}/roles", "post"),
        ("/api/v1/orgs/{org}/roles", "get"),
        ("/api/v1/orgs/{org}/roles/{role_id}", "get"),
        ("/api/v1/orgs/{org}/roles/{role_id}", "patch"),
        ("/api/v1/orgs/{org}/roles/{role_id}", "delete"),
        ("/api/v1/orgs/{org}/roles/resolve", "get"),
        ("/api/v1/orgs/{org}/interviews", "get"),
        ("/api/v1/orgs/{org}/interviews/{id}", "get"),
        ("/api/v1/orgs/{org}/interviews/{id}/complete", "post"),
        ("/api/v1/orgs/{org}/interviews/{id}/cancel", "post"),
        ("/api/v1/live/{live_token}", "get"),
        ("/api/v1/orgs/{org}/events", "get"),
        ("/api/v1/orgs/{org}/events/{id}/replay", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
}

#[actix_web::test]
async fn readyz_turns_503_when_the_instance_stops() {
    let app = crate::helpers::spawn_app().await;
    poll_until(30, "ready", || async {
        (app.readyz().await.status == 200).then_some(())
    })
    .await;
    app.registry
        .as_ref()
        .unwrap()
        .do_send(arkiter_lever::pipeline::registry::StopRegistry);
    let r = poll_until(30, "readyz 503", || async {
        let r = app.readyz().await;
        (r.status == 503).then_some(r)
    })
    .await;
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("stopping"),
        "{}",
        r.body
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}
