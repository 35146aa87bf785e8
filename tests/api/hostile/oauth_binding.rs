//! An OAuth code is bound to the flow that asked for it (PKCE keyed to the
//! state): org C's state with a code from org D's authorize flow connects
//! nothing, and D's own flow still works with a fresh code.

use serde_json::json;

use crate::lever_flow::{seed_account, spawn_with_sim};

fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[actix_web::test]
async fn a_code_from_another_orgs_flow_is_refused() {
    let (app, sim) = spawn_with_sim().await;
    let (account_d, _) = seed_account(&sim, "D's Lever");
    let (org_c, key_c) = app.new_org("C").await;
    let (org_d, key_d) = app.new_org("D").await;
    let start_c = app.start_connect(&org_c, &key_c, json!({})).await;
    let start_d = app.start_connect(&org_d, &key_d, json!({})).await;
    let url_c = start_c.body["authorize_url"].as_str().unwrap().to_owned();
    let url_d = start_d.body["authorize_url"].as_str().unwrap().to_owned();
    assert_eq!(param(&url_d, "code_challenge_method"), "S256");
    assert_ne!(
        param(&url_c, "code_challenge"),
        param(&url_d, "code_challenge")
    );
    sim.login(&account_d).unwrap();
    let location_d = app.authorize(&url_d).await;
    let forged = format!(
        "{}/oauth/lever/callback?code={}&state={}",
        app.address,
        param(&location_d, "code"),
        param(&url_c, "state"),
    );
    let r = app.callback(&forged).await;
    r.assert_error(400, "code_exchange_failed");
    let c = app.get_lever(&org_c, &key_c).await;
    assert_ne!(c.body["status"], "active", "{}", c.body);
    assert!(c.body["lever_account_id"].is_null(), "{}", c.body);
    // D connects with a fresh flow.
    let done = app.connect_lever(&org_d, &key_d).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["connection_status"], "active", "{}", done.body);
}
