//! Orgs and org keys: who may do what, across orgs, and keys dying at once.

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn super_admin_creates_and_lists_orgs() {
    let app = spawn_app().await;
    let r = app.create_org("  Acme  ").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["name"], "Acme");
    let key = r.body["admin_key"].as_str().unwrap();
    assert!(key.starts_with("ak_"));
    let key_id = r.body["admin_key_id"].as_str().unwrap();
    assert!(key.contains(&key_id.replace('-', "")));
    for n in 0..3 {
        app.new_org(&format!("org {n}")).await;
    }
    let all = app.list_orgs("", Some(&app.admin())).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
    assert!(all.body["next_cursor"].is_null());
}

#[actix_web::test]
async fn org_list_pages_with_cursor_and_clamps_limit() {
    let app = spawn_app().await;
    for n in 0..5 {
        app.new_org(&format!("org {n}")).await;
    }
    let admin = app.admin();
    let p1 = app.list_orgs("?limit=2", Some(&admin)).await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let c1 = p1.body["next_cursor"].as_str().unwrap();
    let p2 = app
        .list_orgs(&format!("?limit=2&cursor={c1}"), Some(&admin))
        .await;
    let c2 = p2.body["next_cursor"].as_str().unwrap();
    let p3 = app
        .list_orgs(&format!("?limit=2&cursor={c2}"), Some(&admin))
        .await;
    assert_eq!(p3.body["items"].as_array().unwrap().len(), 1);
    assert!(p3.body["next_cursor"].is_null());
    let mut names: Vec<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.body["items"].as_array().unwrap().clone())
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["org 0", "org 1", "org 2", "org 3", "org 4"]);
    let big = app.list_orgs("?limit=100000", Some(&admin)).await;
    assert_eq!(big.status, 200);
    app.list_orgs("?cursor=garbage", Some(&admin))
        .await
        .assert_error(400, "invalid_query");
    app.list_orgs("?limit=abc", Some(&admin))
        .await
        .assert_error(400, "invalid_query");
}

#[actix_web::test]
async fn credentials_are_required_and_checked() {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    app.list_orgs("", None)
        .await
        .assert_error(401, "unauthorized");
    app.list_orgs("", Some("wrong"))
        .await
        .assert_error(401, "unauthorized");
    app.get_org(&org, Some("ak_00000000000000000000000000000000_x"))
        .await
        .assert_error(401, "unauthorized");
    // A real key id with a wrong secret.
    let (_, secret) = key.rsplit_once('_').unwrap();
    let forged = key.replace(secret, &"0".repeat(secret.len()));
    app.get_org(&org, Some(&forged))
        .await
        .assert_error(401, "unauthorized");
    // An org key on a super-admin route is forbidden, not unauthorized.
    app.list_orgs("", Some(&key))
        .await
        .assert_error(403, "forbidden");
    app.create_org("x").await; // super admin still fine
    let r = app
        .post_json("/api/v1/orgs", Some(&key), &json!({"name": "x"}))
        .await;
    r.assert_error(403, "forbidden");
}

#[actix_web::test]
async fn keys_never_see_another_org() {
    let app = spawn_app().await;
    let (org_a, key_a) = app.new_org("A").await;
    let (org_b, key_b) = app.new_org("B").await;
    assert_eq!(app.get_org(&org_a, Some(&key_a)).await.status, 200);
    app.get_org(&org_b, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    app.list_keys(&org_b, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    app.create_key(&org_b, Some(&key_a), &json!({"role": "admin"}))
        .await
        .assert_error(404, "not_found");
    let b_keys = app.list_keys(&org_b, Some(&key_b)).await;
    let b_key_id = b_keys.body["items"][0]["id"].as_str().unwrap().to_owned();
    app.delete_key(&org_b, &b_key_id, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    // Org A's path with org B's key id: still not found, and B's key survives.
    app.delete_key(&org_a, &b_key_id, Some(&key_a))
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.get_org(&org_b, Some(&key_b)).await.status, 200);
    // The super admin acts on any org.
    assert_eq!(app.list_keys(&org_a, Some(&app.admin())).await.status, 200);
}

#[actix_web::test]
async fn members_read_but_do_not_write() {
    let app = spawn_app().await;
    let (org, admin_key) = app.new_org("Acme").await;
    let r = app
        .create_key(
            &org,
            Some(&admin_key),
            &json!({"role": "member", "label": "ro"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["role"], "member");
    assert_eq!(r.body["label"], "ro");
    let member = r.body["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get_org(&org, Some(&member)).await.status, 200);
    app.list_keys(&org, Some(&member))
        .await
        .assert_error(403, "forbidden");
    app.create_key(&org, Some(&member), &json!({"role": "admin"}))
        .await
        .assert_error(403, "forbidden");
    let id = r.body["id"].as_str().unwrap();
    app.delete_key(&org, id, Some(&member))
        .await
        .assert_error(403, "forbidden");
}

#[actix_web::test]
async fn key_list_hides_secrets_and_a_deleted_key_fails_at_once() {
    let app = spawn_app().await;
    let (org, admin_key) = app.new_org("Acme").await;
    let (second, second_id) = app.new_key(&org, &admin_key, "admin", "ci").await;
    assert_eq!(app.get_org(&org, Some(&second)).await.status, 200);
    let list = app.list_keys(&org, Some(&admin_key)).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        let mut fields: Vec<_> = item.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(
            fields,
            ["created_at", "id", "label", "last_used_at", "role"]
        );
    }
    assert!(
        !list
            .body
            .to_string()
            .contains(second.rsplit('_').next().unwrap())
    );
    let used = items
        .iter()
        .find(|k| k["id"] == second_id.as_str())
        .unwrap();
    assert!(used["last_used_at"].is_string(), "use is recorded");
    let r = app.delete_key(&org, &second_id, Some(&admin_key)).await;
    assert_eq!(r.status, 204);
    app.get_org(&org, Some(&second))
        .await
        .assert_error(401, "unauthorized");
    app.delete_key(&org, &second_id, Some(&admin_key))
        .await
        .assert_error(404, "not_found");
    // Stored secrets are digests only.
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        secret_sha256: Vec<u8>,
    }
    let rows: Vec<Row> = diesel::sql_query("SELECT secret_sha256 FROM api_keys")
        .load(&mut app.db())
        .unwrap();
    assert!(rows.iter().all(|r| r.secret_sha256.len() == 32));
}

#[actix_web::test]
async fn no_admin_token_means_503_on_super_routes_only() {
    let app = crate::helpers::spawn_app_with(|s| s.admin_token = None).await;
    app.list_orgs("", None)
        .await
        .assert_error(503, "admin_token_unset");
    app.list_orgs("", Some("anything"))
        .await
        .assert_error(503, "admin_token_unset");
    let r = app
        .post_json("/api/v1/orgs", Some("x"), &json!({"name": "a"}))
        .await;
    r.assert_error(503, "admin_token_unset");
    // Org routes still authenticate normally.
    app.get_org(&uuid::Uuid::new_v4().to_string(), None)
        .await
        .assert_error(401, "unauthorized");
}
