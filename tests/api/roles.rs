//! Roles and their ATS job mappings: every rule and edge of docs/contract/roles.md.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};

async fn create(app: &TestApp, org: &str, key: &str, body: Value) -> Resp {
    app.post_json(&format!("/api/v1/orgs/{org}/roles"), Some(key), &body)
        .await
}

async fn resolve(app: &TestApp, org: &str, key: &str, q: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/orgs/{org}/roles/resolve?{q}"), Some(key))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// `(role_name, rule)` of a resolution.
fn named(r: &Value) -> (Option<&str>, Option<&str>) {
    (r["role_name"].as_str(), r["rule"].as_str())
}

#[actix_web::test]
async fn resolution_follows_each_rule() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let none = resolve(&app, &org, &key, "posting_id=p1&title=Backend").await;
    assert_eq!(
        none,
        json!({"role_id": null, "role_name": null, "rule": "none"})
    );
    let oldest = create(
        &app,
        &org,
        &key,
        json!({"name": "Backend", "ats_jobs": ["Backend Engineer"]}),
    )
    .await;
    assert_eq!(oldest.status, 201, "{}", oldest.body);
    create(
        &app,
        &org,
        &key,
        json!({"name": "Platform", "ats_jobs": ["post-42"]}),
    )
    .await;
    let any = resolve(&app, &org, &key, "posting_id=zzz&title=Designer").await;
    assert_eq!(named(&any), (Some("Backend"), Some("any")));
    create(
        &app,
        &org,
        &key,
        json!({"name": "General", "ats_jobs": [], "fallback": true}),
    )
    .await;
    let fb = resolve(&app, &org, &key, "posting_id=zzz&title=Designer").await;
    assert_eq!(named(&fb), (Some("General"), Some("fallback")));
    let title = "posting_id=zzz&title=%20%20backend%20ENGINEER%20";
    let t = resolve(&app, &org, &key, title).await;
    assert_eq!(named(&t), (Some("Backend"), Some("title")));
    let posting = "posting_id=post-42&title=Backend%20Engineer";
    let p = resolve(&app, &org, &key, posting).await;
    assert_eq!(named(&p), (Some("Platform"), Some("posting_id")));
    assert!(p["role_id"].as_str().is_some());
}

#[actix_web::test]
async fn mapping_rules_and_conflicts() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let a = create(
        &app,
        &org,
        &key,
        json!({"name": "A", "ats_jobs": ["Backend Engineer", "p-1"]}),
    )
    .await;
    assert_eq!(a.status, 201);
    assert_eq!(a.body["ats_jobs"], json!(["Backend Engineer", "p-1"]));
    let mut fields: Vec<_> = a.body.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "ats_jobs",
            "ats_tags",
            "created_at",
            "fallback",
            "id",
            "link_ttl_days",
            "name",
            "on_pass_stage",
            "pass_score",
            "stages",
            "updated_at"
        ]
    );
    // The same title in another role (trimmed, any case) → 409 naming the role.
    let dup = create(
        &app,
        &org,
        &key,
        json!({"name": "B", "ats_jobs": [" backend engineer "]}),
    )
    .await;
    dup.assert_error(409, "conflict");
    assert!(dup.body["error"]["message"].as_str().unwrap().contains('A'));
    // The same entry twice in one list → 422.
    create(
        &app,
        &org,
        &key,
        json!({"name": "B", "ats_jobs": ["x", "X "]}),
    )
    .await
    .assert_error(422, "validation_failed");
    // Bounds.
    create(&app, &org, &key, json!({"name": "", "ats_jobs": []}))
        .await
        .assert_error(422, "validation_failed");
    create(
        &app,
        &org,
        &key,
        json!({"name": "n".repeat(201), "ats_jobs": []}),
    )
    .await
    .assert_error(422, "validation_failed");
    create(&app, &org, &key, json!({"name": "B", "ats_jobs": [""]}))
        .await
        .assert_error(422, "validation_failed");
    create(
        &app,
        &org,
        &key,
        json!({"name": "B", "ats_jobs": ["e".repeat(201)]}),
    )
    .await
    .assert_error(422, "validation_failed");
    let many: Vec<String> = (0..501).map(|i| format!("job {i}")).collect();
    create(&app, &org, &key, json!({"name": "B", "ats_jobs": many}))
        .await
        .assert_error(422, "validation_failed");
    let five_hundred: Vec<String> = (0..500).map(|i| format!("job {i}")).collect();
    assert_eq!(
        create(
            &app,
            &org,
            &key,
            json!({"name": "B", "ats_jobs": five_hundred})
        )
        .await
        .status,
        201
    );
    create(&app, &org, &key, json!({"name": "B", "ats_jobs": "x"}))
        .await
        .assert_error(400, "invalid_json");
    create(&app, &org, &key, json!({"ats_jobs": []}))
        .await
        .assert_error(400, "invalid_json");
    create(&app, &org, &key, json!({"name": "C", "bogus": 1}))
        .await
        .assert_error(400, "invalid_json");
    // At most one fallback.
    assert_eq!(
        create(&app, &org, &key, json!({"name": "F1", "fallback": true}))
            .await
            .status,
        201
    );
    create(&app, &org, &key, json!({"name": "F2", "fallback": true}))
        .await
        .assert_error(409, "conflict");
    // Another org may map the same entries.
    let (org2, key2) = app.new_org("Other").await;
    assert_eq!(
        create(
            &app,
            &org2,
            &key2,
            json!({"name": "A", "ats_jobs": ["Backend Engineer"]})
        )
        .await
        .status,
        201
    );
}

#[actix_web::test]
async fn read_change_and_delete() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let a = create(&app, &org, &key, json!({"name": "A", "ats_jobs": ["t1"]})).await;
    let id = a.body["id"].as_str().unwrap().to_owned();
    let b = create(
        &app,
        &org,
        &key,
        json!({"name": "B", "ats_jobs": ["t2"], "fallback": true}),
    )
    .await;
    let b_id = b.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/orgs/{org}/roles/{id}");
    let got = app.get(&path, Some(&key)).await;
    assert_eq!(got.body["name"], "A");
    let patch = |body: Value| {
        let path = path.clone();
        let key = key.clone();
        let app = &app;
        async move {
            let bytes = serde_json::to_vec(&body).unwrap();
            app.request(
                "PATCH",
                &path,
                Some(&key),
                Some(("application/json", bytes)),
            )
            .await
        }
    };
    let changed = patch(json!({"name": "A2", "ats_jobs": ["t1", "t3"]})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        (
            changed.body["name"].as_str(),
            changed.body["ats_jobs"].clone()
        ),
        (Some("A2"), json!(["t1", "t3"]))
    );
    patch(json!({"ats_jobs": ["T2"]}))
        .await
        .assert_error(409, "conflict");
    patch(json!({"fallback": true}))
        .await
        .assert_error(409, "conflict");
    patch(json!({"name": ""}))
        .await
        .assert_error(422, "validation_failed");
    patch(json!({"nope": 1}))
        .await
        .assert_error(400, "invalid_json");
    // A role keeps its own entries without conflicting with itself.
    assert_eq!(patch(json!({"ats_jobs": ["T1", "t3"]})).await.status, 200);
    let list = app
        .get(&format!("/api/v1/orgs/{org}/roles"), Some(&key))
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.delete(&format!("/api/v1/orgs/{org}/roles/{b_id}"), Some(&key))
            .await
            .status,
        204
    );
    // The fallback is free again, and its entries too.
    assert_eq!(
        patch(json!({"fallback": true, "ats_jobs": ["t2"]}))
            .await
            .status,
        200
    );
    app.delete(&format!("/api/v1/orgs/{org}/roles/{b_id}"), Some(&key))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/api/v1/orgs/{org}/roles/not-a-uuid"), Some(&key))
        .await
        .assert_error(404, "not_found");
}
