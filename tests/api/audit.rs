//! The audit log (docs/contract/audit.md): every admin action, once, with
//! the acting key's id (or `super`), and never a secret.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};
use crate::lever_flow::{scenario, spawn_with_sim};
use crate::lifecycle::{linked, the_interview};
use crate::one_candidate::settled;

/// A JSON request of any method.
async fn send(app: &TestApp, method: &str, path: &str, key: &str, body: Value) -> Resp {
    let bytes = serde_json::to_vec(&body).unwrap();
    app.request(method, path, Some(key), Some(("application/json", bytes)))
        .await
}

/// The id in `ak_<id>_<secret>`, as the log spells it.
fn key_id(key: &str) -> String {
    let simple = key.split('_').nth(1).expect("ak_<id>_<secret>");
    uuid::Uuid::parse_str(simple).expect("uuid").to_string()
}

#[actix_web::test]
async fn each_admin_action_is_logged_once_with_its_key_and_no_secret() {
    let (app, sim) = spawn_with_sim().await;
    let s = scenario(&app, &sim).await;
    let org = s.org.clone();
    let admin = key_id(&s.key);
    let url = |p: &str| format!("/api/v1/orgs/{org}{p}");

    // Keys: one made and deleted; a member may not read the log.
    let (member, member_id) = app.new_key(&org, &s.key, "member", "reader").await;
    assert_eq!(app.get(&url("/audit"), Some(&member)).await.status, 403);
    let (doomed, doomed_id) = app.new_key(&org, &s.key, "admin", "temp").await;
    assert_eq!(
        app.delete_key(&org, &doomed_id, Some(&s.key)).await.status,
        204
    );
    // Roles: a second role made, changed and deleted.
    let r = app
        .post_json(
            &url("/roles"),
            Some(&s.key),
            &json!({"name": "Frontend", "ats_jobs": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let role = r.body["id"].as_str().unwrap().to_owned();
    let r = send(
        &app,
        "PATCH",
        &url(&format!("/roles/{role}")),
        &s.key,
        json!({"ats_jobs": ["web"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.delete(&url(&format!("/roles/{role}")), Some(&s.key))
            .await
            .status,
        204
    );
    // A refused action is not an action: nothing is logged for it.
    let r = app
        .post_json(
            &url("/roles"),
            Some(&s.key),
            &json!({"name": "", "ats_jobs": []}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Settings and a sweep.
    let r = send(
        &app,
        "PATCH",
        &url("/lever"),
        &s.key,
        json!({"tags": {"closed": "Closed by Arkiter"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post_json(&url("/lever/sweep"), Some(&s.key), &json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;
    // A candidate: cancelled, re-invited, its event replayed, then a bulk
    // replay, an export and an erase.
    let opp = linked(&app, &sim, &s).await;
    let iv = the_interview(&app, &s, &opp).await;
    let iv_id = iv["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &url(&format!("/interviews/{iv_id}/cancel")),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;
    let r = app
        .post_json(
            &url(&format!("/interviews/{iv_id}/reinvite")),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    settled(&app).await;
    let event = crate::timeline::replay_done(&app, &s, &opp).await;
    let r = app
        .post_json(
            &url("/events/replay"),
            Some(&s.key),
            &json!({"status": "dead"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // A dry run changes nothing and is not logged.
    let r = app
        .post_json(
            &url("/events/replay"),
            Some(&s.key),
            &json!({"status": "dead", "dry_run": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&url(&format!("/candidates/{opp}/export")), Some(&s.key))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let secret = "pasted-signature-token-1234";
    let r = send(
        &app,
        "PUT",
        &url("/lever/webhook-secret"),
        &s.key,
        json!({"signature_token": secret}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.delete(&url(&format!("/candidates/{opp}")), Some(&s.key))
            .await
            .status,
        204
    );
    settled(&app).await;
    let signature_tokens: Vec<String> = sim
        .webhooks(&s.account)
        .unwrap()
        .into_iter()
        .filter_map(|w| w.signature_token)
        .collect();
    assert!(!signature_tokens.is_empty());
    assert_eq!(app.delete(&url("/lever"), Some(&s.key)).await.status, 204);

    let r = app.get(&url("/audit?limit=200"), Some(&s.key)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap().clone();
    let actions: Vec<(&str, &str)> = items
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    let a = admin.as_str();
    assert_eq!(
        actions,
        vec![
            ("org.created", "super"),
            ("role.created", a),
            ("lever.connect_started", a),
            ("key.created", a),
            ("key.created", a),
            ("key.deleted", a),
            ("role.created", a),
            ("role.updated", a),
            ("role.deleted", a),
            ("lever.settings_updated", a),
            ("lever.sweep_requested", a),
            ("interview.cancelled", a),
            ("interview.reinvited", a),
            ("event.replayed", a),
            ("events.bulk_replayed", a),
            ("candidate.exported", a),
            ("lever.webhook_secret_set", a),
            ("candidate.erased", a),
            ("lever.disconnected", a),
        ],
        "{items:#?}"
    );
    let of =
        |action: &str| -> Vec<&Value> { items.iter().filter(|e| e["action"] == action).collect() };
    assert_eq!(of("key.deleted")[0]["target"], doomed_id.as_str());
    assert_eq!(of("key.created")[0]["target"], member_id.as_str());
    assert_eq!(of("role.updated")[0]["summary"], "changed ats_jobs");
    assert_eq!(of("interview.cancelled")[0]["target"], iv_id.as_str());
    assert_eq!(of("event.replayed")[0]["target"], event.as_str());
    assert!(
        items
            .iter()
            .all(|e| e["at"].is_string() && e["summary"].is_string())
    );
    // No secret, and the erased candidate's id is gone from the log too.
    let text = serde_json::to_string(&items).unwrap();
    let admin_secret = s.key.rsplit('_').next().unwrap();
    for needle in [s.key.as_str(), admin_secret, &member, &doomed, secret, &opp] {
        assert!(!text.contains(needle), "{needle} in {text}");
    }
    for token in signature_tokens {
        assert!(!text.contains(&token), "a signature token in the log");
    }
}
