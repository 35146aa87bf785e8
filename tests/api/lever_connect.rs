//! Connecting an org's Lever account through the real OAuth flow against the
//! simulator: the authorize URL, the callback, reconnecting, setup problems,
//! OAuth failures, account ownership, manual webhook mode and disconnecting.

use arkiter_lever::lever::sim::{AccountPatch, AuthorizeMode};
use serde_json::json;

use crate::lever_flow::{seed_account, spawn_with_sim};

fn query_pairs(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[actix_web::test]
async fn full_connect_registers_one_webhook_per_event() {
    let (app, sim) = spawn_with_sim().await;
    let (account, stage_id) = seed_account(&sim, "Acme Lever");
    let (org, key) = app.new_org("Acme").await;
    app.get_lever(&org, &key)
        .await
        .assert_error(404, "not_connected");
    let start = app.start_connect(&org, &key, json!({})).await;
    assert_eq!(start.status, 200, "{}", start.body);
    let url = start.body["authorize_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/authorize?", sim.auth_url())));
    let q = query_pairs(url);
    assert_eq!(q["client_id"], arkiter_lever::lever::sim::DEFAULT_CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/oauth/lever/callback", app.address)
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["audience"], format!("{}/", sim.api_url()));
    assert_eq!(q["prompt"], "consent");
    assert!(q["scope"].split(' ').any(|s| s == "offline_access"));
    assert!(q["scope"].contains("webhooks:write:admin"));
    assert!(q["state"].len() >= 32);
    let pending = app.get_lever(&org, &key).await;
    assert_eq!(pending.body["status"], "pending");
    let location = app.authorize(url).await;
    let done = app.callback(&location).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["connection_status"], "active");
    let view = app.get_lever(&org, &key).await;
    assert_eq!(view.body["status"], "active");
    assert_eq!(view.body["lever_account_id"], account.as_str());
    assert_eq!(
        view.body["stage"],
        json!({"id": stage_id, "name": "Arkiter Live"})
    );
    assert_eq!(view.body["webhook"]["managed"], true);
    let hook_url = format!(
        "{}/webhooks/lever/{}",
        app.address,
        start.body["connection_id"].as_str().unwrap()
    );
    assert_eq!(view.body["webhook"]["url"], hook_url.as_str());
    assert_eq!(
        view.body["tags"],
        json!({
            "link_created": "Arkiter Live: Link Created",
            "completed": "Arkiter Live: Completed",
            "closed": "Arkiter Live: Closed",
            "expired": "Arkiter Live: Expired",
            "passed": "Arkiter Live: Passed",
            "not_passed": "Arkiter Live: Not Passed",
            "needs_attention": "Arkiter Live: Needs Attention",
        })
    );
    assert!(!view.body.to_string().contains("signature"));
    let hooks = sim.webhooks(&account).unwrap();
    let registered: Vec<(&str, &str)> = hooks
        .iter()
        .map(|h| (h.url.as_str(), h.event.as_str()))
        .collect();
    assert_eq!(
        registered,
        [
            (hook_url.as_str(), "candidateStageChange"),
            (hook_url.as_str(), "candidateArchiveChange"),
            (hook_url.as_str(), "candidateHired"),
            (hook_url.as_str(), "candidateDeleted"),
        ]
    );
    assert_eq!(view.body["webhook"]["id"], hooks[0].id.as_str());
    let listed: Vec<(&str, &str)> = view.body["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["event"].as_str().unwrap(), w["id"].as_str().unwrap()))
        .collect();
    for h in &hooks {
        assert!(
            listed.contains(&(h.event.as_str(), h.id.as_str())),
            "{listed:?}"
        );
    }
    let log = sim.calls_for(&account);
    let exchanges = log.iter().filter(|c| c.path == "/oauth/token").count();
    let creates = log
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/v1/webhooks")
        .count();
    assert_eq!((exchanges, creates), (1, 4), "{log:#?}");
}

#[actix_web::test]
async fn reconnect_keeps_the_id_and_one_managed_webhook() {
    let (app, sim) = spawn_with_sim().await;
    let (account, _) = seed_account(&sim, "Acme Lever");
    let (org, key) = app.new_org("Acme").await;
    let first = app.connect_lever(&org, &key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // While a new authorisation is pending the connection stays active.
    let again = app.start_connect(&org, &key, json!({})).await;
    assert_eq!(again.body["connection_id"], first.body["connection_id"]);
    assert_eq!(app.get_lever(&org, &key).await.body["status"], "active");
    let location = app
        .authorize(again.body["authorize_url"].as_str().unwrap())
        .await;
    let second = app.callback(&location).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["connection_id"], first.body["connection_id"]);
    assert_eq!(sim.webhooks(&account).unwrap().len(), 4);
}

#[actix_web::test]
async fn missing_stage_needs_setup_until_patched() {
    let (app, sim) = spawn_with_sim().await;
    let account = sim.create_account("No stage");
    sim.add_stage(&account, "Phone screen").unwrap();
    sim.login(&account).unwrap();
    let (org, key) = app.new_org("Acme").await;
    let done = app.connect_lever(&org, &key).await;
    assert_eq!(done.body["connection_status"], "needs_setup");
    let view = app.get_lever(&org, &key).await;
    assert_eq!(view.body["status"], "needs_setup");
    assert_eq!(view.body["problems"][0]["code"], "stage_missing");
    let stage = sim.add_stage(&account, "  arkiter LIVE ").unwrap();
    let patched = app
        .patch_lever(&org, &key, json!({"stage": {"name": "Arkiter Live"}}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["status"], "active");
    assert_eq!(patched.body["stage"]["id"], stage.id.as_str());
    assert_eq!(patched.body["problems"], json!([]));
    // By id, and tags and perform_as.
    let other = sim.add_stage(&account, "Tech screen").unwrap();
    let p = app
        .patch_lever(&org, &key, json!({"stage": {"id": other.id}, "tags": {"completed": "Done!"}, "perform_as": "user-1"}))
        .await;
    assert_eq!(p.body["stage"]["id"], other.id.as_str());
    assert_eq!(p.body["tags"]["completed"], "Done!");
    assert_eq!(p.body["perform_as"], "user-1");
    let p = app
        .patch_lever(&org, &key, json!({"perform_as": null}))
        .await;
    assert!(p.body["perform_as"].is_null());
    assert_eq!(p.body["tags"]["completed"], "Done!");
    app.patch_lever(&org, &key, json!({"stage": {"id": "nope"}}))
        .await;
    assert_eq!(
        app.get_lever(&org, &key).await.body["status"],
        "needs_setup"
    );
    app.patch_lever(&org, &key, json!({"tags": {"link_created": ""}}))
        .await
        .assert_error(422, "validation_failed");
    app.patch_lever(&org, &key, json!({"colour": "red"}))
        .await
        .assert_error(400, "invalid_json");
}

async fn assert_nothing_stored(app: &crate::helpers::TestApp, org: &str, key: &str) {
    let view = app.get_lever(org, key).await;
    assert_eq!(view.body["status"], "pending", "{}", view.body);
    assert!(view.body["lever_account_id"].is_null());
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query(
        "SELECT (SELECT count(*) FROM lever_webhooks) + (SELECT count(*) FROM connections WHERE access_token_enc IS NOT NULL) AS n",
    )
    .get_result(&mut app.db())
    .unwrap();
    assert_eq!(c.n, 0);
}

#[actix_web::test]
async fn oauth_failures_store_nothing_and_say_why() {
    let (app, sim) = spawn_with_sim().await;
    let (account, _) = seed_account(&sim, "Acme Lever");
    let (org, key) = app.new_org("Acme").await;
    for (mode, code) in [
        (AuthorizeMode::Deny, "access_denied"),
        (AuthorizeMode::NotSuperAdmin, "not_super_admin"),
    ] {
        sim.patch_account(
            &account,
            AccountPatch {
                authorize_mode: Some(mode),
                ..Default::default()
            },
        )
        .unwrap();
        let start = app.start_connect(&org, &key, json!({})).await;
        let location = app
            .authorize(start.body["authorize_url"].as_str().unwrap())
            .await;
        app.callback(&location).await.assert_error(403, code);
        assert_nothing_stored(&app, &org, &key).await;
    }
    sim.patch_account(
        &account,
        AccountPatch {
            authorize_mode: Some(AuthorizeMode::Consent),
            ..Default::default()
        },
    )
    .unwrap();
    // Unknown state, missing state.
    let cb = format!("{}/oauth/lever/callback", app.address);
    app.callback(&format!("{cb}?code=x&state=made-up"))
        .await
        .assert_error(400, "invalid_state");
    app.callback(&format!("{cb}?code=x"))
        .await
        .assert_error(400, "invalid_state");
    // Reused state: the second use is refused.
    let start = app.start_connect(&org, &key, json!({})).await;
    let location = app
        .authorize(start.body["authorize_url"].as_str().unwrap())
        .await;
    assert_eq!(app.callback(&location).await.status, 200);
    let reused = app.callback(&location).await;
    reused.assert_error(400, "invalid_state");
    assert!(
        reused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    // The HTML page for a person.
    let mut page = app.client.get(&location).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 400);
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("<h1>") && html.contains("already used"));
}

#[actix_web::test]
async fn expired_state_is_refused() {
    let (app, sim) = spawn_with_sim().await;
    seed_account(&sim, "Acme Lever");
    let (org, key) = app.new_org("Acme").await;
    let start = app.start_connect(&org, &key, json!({})).await;
    let location = app
        .authorize(start.body["authorize_url"].as_str().unwrap())
        .await;
    // Move the state's expiry into the past rather than waiting ten minutes.
    use diesel::RunQueryDsl;
    diesel::sql_query("UPDATE oauth_states SET expires_at = now() - interval '1 second'")
        .execute(&mut app.db())
        .unwrap();
    let r = app.callback(&location).await;
    r.assert_error(400, "invalid_state");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_nothing_stored(&app, &org, &key).await;
}

#[actix_web::test]
async fn state_lifetime_is_a_setting() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.lever.client_id = Some("cid".into());
        s.lever.client_secret = Some("secret".into());
        s.oauth_state_ttl = std::time::Duration::from_secs(7);
    })
    .await;
    let (org, key) = app.new_org("Acme").await;
    app.start_connect(&org, &key, json!({})).await;
    #[derive(diesel::QueryableByName)]
    struct Ttl {
        #[diesel(sql_type = diesel::sql_types::Double)]
        secs: f64,
    }
    use diesel::RunQueryDsl;
    let t: Ttl = diesel::sql_query(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 AS secs FROM oauth_states",
    )
    .get_result(&mut app.db())
    .unwrap();
    assert!((t.secs - 7.0).abs() < 1.0, "{}", t.secs);
}

#[actix_web::test]
async fn a_lever_account_belongs_to_one_org() {
    let (app, sim) = spawn_with_sim().await;
    let (account, _) = seed_account(&sim, "Shared Lever");
    let (org_a, key_a) = app.new_org("A").await;
    let (org_b, key_b) = app.new_org("B").await;
    assert_eq!(app.connect_lever(&org_a, &key_a).await.status, 200);
    sim.login(&account).unwrap();
    app.connect_lever(&org_b, &key_b)
        .await
        .assert_error(409, "conflict");
    assert_eq!(
        app.get_lever(&org_b, &key_b).await.body["status"],
        "pending"
    );
    assert_eq!(sim.webhooks(&account).unwrap().len(), 4);
}

#[actix_web::test]
async fn manual_webhook_mode_and_disconnect() {
    let (app, sim) = spawn_with_sim().await;
    let (account, _) = seed_account(&sim, "Small package");
    sim.patch_account(
        &account,
        AccountPatch {
            webhooks_api: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let (org, key) = app.new_org("Acme").await;
    let done = app.connect_lever(&org, &key).await;
    assert_eq!(
        done.body["connection_status"], "needs_setup",
        "{}",
        done.body
    );
    let view = app.get_lever(&org, &key).await;
    assert_eq!(view.body["problems"][0]["code"], "webhook_missing");
    let url = view.body["webhook"]["url"].as_str().unwrap().to_owned();
    assert!(
        view.body["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&url)
    );
    let put = |body| {
        let app = &app;
        let path = format!("/api/v1/orgs/{org}/lever/webhook-secret");
        let key = key.clone();
        async move {
            let bytes = serde_json::to_vec(&body).unwrap();
            app.request("PUT", &path, Some(&key), Some(("application/json", bytes)))
                .await
        }
    };
    put(json!({})).await.assert_error(400, "invalid_json");
    let r = put(json!({"signature_token": "pasted-token-from-lever-ui"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["webhook"]["managed"], false);
    // Disconnect: tokens forgotten, signature token kept.
    let d = app
        .delete(&format!("/api/v1/orgs/{org}/lever"), Some(&key))
        .await;
    assert_eq!(d.status, 204);
    assert_eq!(
        app.get_lever(&org, &key).await.body["status"],
        "disconnected"
    );
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        tokens: bool,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        hooks: i64,
    }
    use diesel::RunQueryDsl;
    let row: Row = diesel::sql_query(
        "SELECT (access_token_enc IS NOT NULL OR refresh_token_enc IS NOT NULL) AS tokens, \
         (SELECT count(*) FROM lever_webhooks) AS hooks FROM connections",
    )
    .get_result(&mut app.db())
    .unwrap();
    assert!(!row.tokens);
    assert_eq!(row.hooks, 1);
}

#[actix_web::test]
async fn disconnect_deletes_the_managed_webhooks() {
    let (app, sim) = spawn_with_sim().await;
    let (account, _) = seed_account(&sim, "Acme Lever");
    let (org, key) = app.new_org("Acme").await;
    app.connect_lever(&org, &key).await;
    assert_eq!(sim.webhooks(&account).unwrap().len(), 4);
    assert_eq!(
        app.delete(&format!("/api/v1/orgs/{org}/lever"), Some(&key))
            .await
            .status,
        204
    );
    assert_eq!(sim.webhooks(&account).unwrap().len(), 0);
    let view = app.get_lever(&org, &key).await;
    assert_eq!(view.body["status"], "disconnected");
    // Reconnecting brings them back, one per event.
    sim.login(&account).unwrap();
    let again = app.connect_lever(&org, &key).await;
    assert_eq!(again.body["connection_status"], "active", "{}", again.body);
    assert_eq!(sim.webhooks(&account).unwrap().len(), 4);
}
