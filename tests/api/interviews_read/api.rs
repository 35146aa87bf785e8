//! `GET /api/v1/orgs/{org}/interviews[/{id}]`: filters, pages, the view
//! field by field, and the org boundary.

use serde_json::{Value, json};

use super::seed::{self, Conn, Iv, Seeded};
use crate::helpers::{TestApp, spawn_app_without_pipeline};

async fn list(app: &TestApp, org: &str, key: &str, query: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/orgs/{org}/interviews{query}"), Some(key))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_ids(page: &Value, want: &[&Seeded]) {
    let want: Vec<String> = want.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids(page), want, "{page}");
}

#[actix_web::test]
async fn a_member_lists_newest_first_with_filters_and_pages() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let mk = |status, opportunity, ago| Iv {
        status,
        opportunity,
        created_ago_s: ago,
        ..Iv::default()
    };
    let oldest = seed::interview(&app, &org, &conn, mk("completed", "opp-a", 500.0));
    let a2 = seed::interview(&app, &org, &conn, mk("link_posted", "opp-a", 400.0));
    let b = seed::interview(&app, &org, &conn, mk("cancelled", "opp-b", 300.0));
    let c = seed::interview(&app, &org, &conn, mk("creating", "opp-c", 200.0));
    let newest = seed::interview(&app, &org, &conn, mk("failed", "opp-d", 100.0));

    let all = list(&app, &org, &member, "").await;
    assert_ids(&all, &[&newest, &c, &b, &a2, &oldest]);
    assert_eq!(all["next_cursor"], Value::Null);

    let done = list(&app, &org, &member, "?status=completed").await;
    assert_ids(&done, &[&oldest]);
    let opp = list(&app, &org, &member, "?opportunity_id=opp-a").await;
    assert_ids(&opp, &[&a2, &oldest]);
    let both = list(
        &app,
        &org,
        &member,
        "?opportunity_id=opp-a&status=link_posted",
    )
    .await;
    assert_ids(&both, &[&a2]);

    let p1 = list(&app, &org, &member, "?limit=2").await;
    assert_ids(&p1, &[&newest, &c]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2 = list(&app, &org, &member, &format!("?limit=2&cursor={cursor}")).await;
    assert_ids(&p2, &[&b, &a2]);
    let cursor = p2["next_cursor"].as_str().unwrap();
    let p3 = list(&app, &org, &member, &format!("?limit=2&cursor={cursor}")).await;
    assert_ids(&p3, &[&oldest]);
    assert_eq!(p3["next_cursor"], Value::Null);

    let bad = app
        .get(
            &format!("/api/v1/orgs/{org}/interviews?status=done"),
            Some(&member),
        )
        .await;
    bad.assert_error(400, "invalid_query");
    let bad = app
        .get(
            &format!("/api/v1/orgs/{org}/interviews?cursor=nope"),
            Some(&member),
        )
        .await;
    bad.assert_error(400, "invalid_query");
}

#[actix_web::test]
async fn the_view_shows_every_field_and_the_results_link_only_after_completion() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let i = seed::interview(&app, &org, &conn, Iv::default());
    let path = format!("/api/v1/orgs/{org}/interviews/{}", i.id);

    let r = app.get(&path, Some(&member)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = &r.body;
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = [
        "id",
        "role_id",
        "role_name",
        "rule",
        "opportunity_id",
        "posting_id",
        "status",
        "close_reason",
        "live_url",
        "results_url",
        "created_at",
        "link_posted_at",
        "completed_at",
        "results_posted_at",
        "closed_at",
        "expires_at",
        "opened_at",
        "result",
        "stage_id",
        "outcome",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(v["id"], i.id);
    assert_eq!(v["role_id"], Value::Null);
    assert_eq!(v["role_name"], "Backend");
    assert_eq!(v["rule"], "title");
    assert_eq!(v["opportunity_id"], "opp-1");
    assert_eq!(v["posting_id"], "post-1");
    assert_eq!(v["status"], "link_posted");
    assert_eq!(
        v["live_url"],
        format!("{}/live/{}", app.address, i.live_token)
    );
    assert_eq!(v["results_url"], Value::Null);
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'), "{v}");
    assert!(v["link_posted_at"].is_string());
    assert_eq!(v["completed_at"], Value::Null);
    assert_eq!(v["results_posted_at"], Value::Null);
    assert_eq!(v["result"], Value::Null);

    let result = json!({"score": 87, "recommendation": "hire", "summary": "Solid."});
    seed::exec(
        &app,
        &format!(
            "UPDATE interviews SET status = 'completed', completed_at = now(), result = '{result}' \
             WHERE id = '{}'",
            i.id
        ),
    );
    let v = app.get(&path, Some(&member)).await.body;
    assert_eq!(v["status"], "completed");
    assert_eq!(
        v["results_url"],
        format!("{}/results/{}", app.address, i.results_token)
    );
    assert_eq!(v["result"], result);
    assert!(v["completed_at"].is_string());
}

#[actix_web::test]
async fn another_orgs_interview_is_not_found() {
    let app = spawn_app_without_pipeline().await;
    let (org_a, key_a, _) = seed::org_with_member(&app, "Acme").await;
    let (org_b, key_b) = app.new_org("Other").await;
    let conn_b = seed::connection(&app, &org_b, Conn::default());
    let theirs = seed::interview(&app, &org_b, &conn_b, Iv::default());

    let via_own_org = format!("/api/v1/orgs/{org_a}/interviews/{}", theirs.id);
    app.get(&via_own_org, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    let via_their_org = format!("/api/v1/orgs/{org_b}/interviews/{}", theirs.id);
    app.get(&via_their_org, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    let their_list = format!("/api/v1/orgs/{org_b}/interviews");
    app.get(&their_list, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    assert!(ids(&list(&app, &org_a, &key_a, "").await).is_empty());

    assert_eq!(app.get(&via_their_org, Some(&key_b)).await.status, 200);
    assert_eq!(
        app.get(&via_their_org, Some(&app.admin())).await.status,
        200
    );
    let unknown = format!("/api/v1/orgs/{org_b}/interviews/{}", uuid::Uuid::new_v4());
    app.get(&unknown, Some(&key_b))
        .await
        .assert_error(404, "not_found");
    let not_uuid = format!("/api/v1/orgs/{org_b}/interviews/nope");
    app.get(&not_uuid, Some(&key_b))
        .await
        .assert_error(404, "not_found");
    let no_org = format!("/api/v1/orgs/{}/interviews", uuid::Uuid::new_v4());
    app.get(&no_org, Some(&app.admin()))
        .await
        .assert_error(404, "not_found");
    app.get(&their_list, None)
        .await
        .assert_error(401, "unauthorized");
}
