//! The simulator against docs/contract/lever-facts.md: envelopes and error shapes compared
//! with the golden fixtures, links on the contact, signed deliveries that
//! the client's verifier accepts, the rate limit, OAuth, the control API.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use arkiter_lever::lever::sim::{
    AccountPatch, AuthorizeMode, FaultAction, FaultRule, NewOpportunity,
};
use arkiter_lever::lever::wire::{WebhookBody, WebhookCreate, decode_access_token_claims};
use arkiter_lever::lever::{AuthorizeCallback, LeverError, oauth, signature};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::poll_until;
use crate::lever_support::*;
use crate::lever_wire::fixture_json;
use crate::support::sim_control::SimControl;

// ---------- raw HTTP helpers ----------

struct Raw {
    status: u16,
    headers: awc::http::header::HeaderMap,
    body: Value,
    bytes: Vec<u8>,
}

async fn raw(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> Raw {
    let client = awc::Client::default();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut resp = match body {
        Some(body) => req.send_json(&body).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = resp.body().await.unwrap().to_vec();
    Raw {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        bytes,
    }
}

/// Every key the simulator sends exists in the documented fixture, with the
/// same JSON type (null on either side matches anything).
fn assert_within(actual: &Value, documented: &Value, at: &str) {
    match (actual, documented) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(d)) => {
            for (key, value) in a {
                let doc = d
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}.{key} is not in the documented shape"));
                assert_within(value, doc, &format!("{at}.{key}"));
            }
        }
        (Value::Array(a), Value::Array(d)) => {
            if let Some(first) = d.first() {
                for item in a {
                    assert_within(item, first, &format!("{at}[]"));
                }
            }
        }
        (a, d) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(d),
            "{at}: {a} vs documented {d}"
        ),
    }
}

/// Same keys both ways (for the exact examples of docs/contract/lever-facts.md).
fn assert_same_shape(actual: &Value, documented: &Value, at: &str) {
    assert_within(actual, documented, at);
    assert_within(documented, actual, at);
}

// ---------- Data API envelopes ----------

#[actix_rt::test]
async fn data_api_envelopes_match_the_fixtures() {
    let sim = start_sim().await;
    let c = connect(&sim, "Acme", ClientOptions::default()).await;
    let token = c.grant.access_token.expose_secret().to_owned();
    let (stage, posting, opp) = seed_basic(&sim, &c.account);
    sim.add_user(&c.account, "Rachel", "rachel@example.com")
        .unwrap();
    let api = sim.api_url();
    let t = Some(token.as_str());

    let r = raw("GET", &format!("{api}/stages/{stage}"), t, None).await;
    assert_eq!(r.status, 200);
    assert_same_shape(&r.body, &fixture_json("stage_response.json"), "stage");
    let r = raw("GET", &format!("{api}/stages"), t, None).await;
    assert_same_shape(&r.body, &fixture_json("stages_list.json"), "stages");

    let r = raw("GET", &format!("{api}/postings/{posting}"), t, None).await;
    assert_within(&r.body, &fixture_json("posting_response.json"), "posting");
    assert_eq!(r.body["data"]["text"], "Backend Engineer");

    let url = format!("{api}/opportunities/{opp}?expand=applications");
    let r = raw("GET", &url, t, None).await;
    assert_within(
        &r.body,
        &fixture_json("opportunity_response.json"),
        "opportunity",
    );
    assert_eq!(
        r.body["data"]["applications"][0]["posting"],
        posting.as_str()
    );
    assert_eq!(r.body["data"]["stage"], stage.as_str());
    let r = raw("GET", &format!("{api}/opportunities/{opp}"), t, None).await;
    assert!(
        r.body["data"]["applications"][0].is_string(),
        "unexpanded = ids"
    );

    let r = raw("GET", &format!("{api}/users"), t, None).await;
    assert_within(&r.body, &fixture_json("users_list.json"), "users");

    let note = json!({"value": "score 80", "secret": false});
    let r = raw(
        "POST",
        &format!("{api}/opportunities/{opp}/notes"),
        t,
        Some(note),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_same_shape(
        &r.body,
        &fixture_json("note_created_response.json"),
        "note created",
    );
    let r = raw("GET", &format!("{api}/opportunities/{opp}/notes"), t, None).await;
    assert_within(&r.body, &fixture_json("notes_list.json"), "notes");
    assert_eq!(r.body["data"][0]["fields"][0]["value"], "score 80");

    let tags = fixture_json("add_tags_request.json");
    let r = raw(
        "POST",
        &format!("{api}/opportunities/{opp}/addTags"),
        t,
        Some(tags),
    )
    .await;
    assert_eq!(r.status, 200);
    let mut answered = r.body.clone();
    assert!(
        answered["data"]["applications"][0].is_string(),
        "unexpanded = ids"
    );
    answered["data"]
        .as_object_mut()
        .unwrap()
        .remove("applications");
    assert_within(
        &answered,
        &fixture_json("opportunity_response.json"),
        "addTags answer",
    );
    assert_eq!(r.body["data"]["tags"], json!(["Infrastructure Engineer"]));

    let hook = json!({"url": "https://example.com/hook", "event": "candidateStageChange"});
    let r = raw("POST", &format!("{api}/webhooks"), t, Some(hook)).await;
    assert_eq!(r.status, 201);
    assert_same_shape(
        &r.body,
        &fixture_json("webhook_create_response.json"),
        "webhook created",
    );
    let token_len = r.body["data"]["data"]["configuration"]["signatureToken"]
        .as_str()
        .unwrap()
        .len();
    assert_eq!(token_len, 48);
    let hook_id = r.body["data"]["data"]["id"].as_str().unwrap().to_owned();
    let r = raw("GET", &format!("{api}/webhooks"), t, None).await;
    assert_within(&r.body, &fixture_json("webhook_list.json"), "webhooks");
    let r = raw("DELETE", &format!("{api}/webhooks/{hook_id}"), t, None).await;
    assert_eq!(r.status, 204);
    assert!(r.bytes.is_empty());
    let r = raw("DELETE", &format!("{api}/webhooks/{hook_id}"), t, None).await;
    assert_eq!(r.status, 404);

    let r = raw("GET", &format!("{api}/stages/nope"), t, None).await;
    assert_eq!(r.status, 404);
    assert_same_shape(&r.body, &fixture_json("error_not_found.json"), "error");
    assert!(r.body["message"].as_str().unwrap().contains("nope"));
    let r = raw("GET", &format!("{api}/stages"), None, None).await;
    assert_eq!(r.status, 401);
    assert_same_shape(&r.body, &fixture_json("error_not_found.json"), "401 error");
    let r = raw(
        "POST",
        &format!("{api}/webhooks"),
        t,
        Some(json!({"url": "https://x.example", "event": "nope"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_same_shape(&r.body, &fixture_json("error_not_found.json"), "400 error");
}

#[actix_rt::test]
async fn token_response_matches_the_fixture_for_form_and_json() {
    let sim = start_sim().await;
    let account = sim.create_account("Tok");
    let cfg = oauth_config(&sim);
    let form_code = param(&authorize(&sim, &cfg, "s").await, "code")
        .unwrap()
        .to_owned();
    // The service's authorize URL carries a PKCE challenge keyed to the state.
    let verifier = arkiter_lever::lever::oauth::pkce::verifier(&cfg.client_secret, "s");
    let client = awc::Client::default();
    let mut resp = client
        .post(format!("{}/oauth/token", sim.auth_url()))
        .send_form(&[
            ("grant_type", "authorization_code"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.expose_secret()),
            ("code", form_code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_same_shape(&body, &fixture_json("token_response.json"), "token (form)");
    let claims = decode_access_token_claims(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.account_id.as_deref(), Some(account.as_str()));
    assert_eq!(claims.client_id.as_deref(), Some(cfg.client_id.as_str()));

    let json_code = param(&authorize(&sim, &cfg, "s").await, "code")
        .unwrap()
        .to_owned();
    let exchange = json!({
        "grant_type": "authorization_code", "client_id": cfg.client_id,
        "client_secret": cfg.client_secret.expose_secret(), "code": json_code,
        "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
    });
    let url = format!("{}/oauth/token", sim.auth_url());
    let r = raw("POST", &url, None, Some(exchange.clone())).await;
    assert_eq!(r.status, 200);
    assert_same_shape(
        &r.body,
        &fixture_json("token_response.json"),
        "token (json)",
    );
    let again = raw("POST", &url, None, Some(exchange)).await;
    assert_eq!(again.status, 403);
    assert_eq!(again.body["error"], "invalid_grant");
}

// ---------- links on the contact ----------

#[actix_rt::test]
async fn links_live_on_the_contact_and_duplicates_show() {
    let sim = start_sim().await;
    let c = connect(&sim, "Links", ClientOptions::default()).await;
    let (stage, _, first) = seed_basic(&sim, &c.account);
    let contact = sim.opportunity(&c.account, &first).unwrap().contact;
    let second = sim
        .add_opportunity(
            &c.account,
            NewOpportunity {
                contact: Some(contact),
                stage_id: stage,
                ..NewOpportunity::default()
            },
        )
        .unwrap()
        .id;
    let link = vec!["https://arkiter.example/live/abc".to_owned()];
    c.client.add_links(&first, &link).await.unwrap();
    c.client.add_links(&first, &link).await.unwrap();
    let seen = c.client.get_opportunity(&second).await.unwrap();
    assert_eq!(
        seen.links,
        vec![link[0].clone(), link[0].clone()],
        "both adds visible on the other opportunity"
    );
    assert_eq!(sim.opportunity(&c.account, &second).unwrap().links.len(), 2);
    c.client.remove_links(&second, &link).await.unwrap();
    assert!(
        c.client
            .get_opportunity(&first)
            .await
            .unwrap()
            .links
            .is_empty()
    );
}

// ---------- webhook delivery ----------

/// (User-Agent, body) of each delivery received.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Receiver {
    bodies: Received,
    fail_next: Arc<AtomicU32>,
}

async fn receive(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let ua = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    rx.bodies.lock().unwrap().push((ua, body.to_vec()));
    let failing = rx
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        HttpResponse::InternalServerError().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}

async fn start_receiver() -> (Receiver, String) {
    let rx = Receiver::default();
    let data = web::Data::new(rx.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    (rx, format!("http://{addr}/hook"))
}

#[actix_rt::test]
async fn webhook_delivery_is_signed_and_the_client_verifier_accepts_it() {
    let sim = start_sim().await;
    let c = connect(&sim, "Hooks", ClientOptions::default()).await;
    let (stage, _, opp) = seed_basic(&sim, &c.account);
    let target = sim.add_stage(&c.account, "Onsite").unwrap().id;
    let (rx, url) = start_receiver().await;
    let hook = c
        .client
        .create_webhook(&WebhookCreate {
            url: url.clone(),
            event: "candidateStageChange".into(),
            configuration: None,
        })
        .await
        .unwrap();
    let key = hook.signature_token().unwrap().to_owned();
    assert_eq!(c.client.list_webhooks().await.unwrap().len(), 1);

    sim.move_opportunities(&c.account, std::slice::from_ref(&opp), &target)
        .unwrap();
    let (ua, bytes) = poll_until(30, "the first delivery", || async {
        rx.bodies.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(ua, "Lever-Webhooks");
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    assert_same_shape(
        &value,
        &fixture_json("webhook_stage_change.json"),
        "delivery",
    );
    let body: WebhookBody = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body.token.len(), 48);
    let now = chrono::Utc::now().timestamp_millis();
    signature::verify(
        &key,
        &body.token,
        body.triggered_at,
        body.signature.as_deref(),
        now,
    )
    .expect("the client's verifier accepts the simulator's signature");
    assert!(
        signature::verify(
            "wrong",
            &body.token,
            body.triggered_at,
            body.signature.as_deref(),
            now
        )
        .is_err()
    );
    let data = body.stage_change().unwrap();
    assert_eq!(data.opportunity_id, opp);
    assert_eq!(data.to_stage_id.as_deref(), Some(target.as_str()));
    assert_eq!(data.from_stage_id.as_deref(), Some(stage.as_str()));

    // A failing receiver is retried with growing gaps until it answers 2xx.
    rx.fail_next.store(2, Ordering::SeqCst);
    sim.move_opportunities(&c.account, std::slice::from_ref(&opp), &stage)
        .unwrap();
    let record = poll_until(30, "the second delivery record", || async {
        sim.deliveries(&c.account)
            .unwrap()
            .get(1)
            .filter(|d| d.finished)
            .cloned()
    })
    .await;
    assert!(record.delivered);
    assert_eq!(record.attempts, 3);
    assert_eq!(record.status, Some(200));
    assert_eq!(rx.bodies.lock().unwrap().len(), 4);

    // The "Test" button: candidateHired with empty data, also signed.
    sim.test_ping(&c.account, &hook.id).unwrap();
    let (_, bytes) = poll_until(30, "the fifth delivery", || async {
        rx.bodies.lock().unwrap().get(4).cloned()
    })
    .await;
    let ping: WebhookBody = serde_json::from_slice(&bytes).unwrap();
    assert!(ping.is_test_ping());
    signature::verify(
        &key,
        &ping.token,
        ping.triggered_at,
        ping.signature.as_deref(),
        now,
    )
    .unwrap();

    // The Super Admin's webhook-group toggle off: nothing is delivered.
    sim.patch_account(
        &c.account,
        AccountPatch {
            webhooks_enabled: Some(false),
            ..AccountPatch::default()
        },
    )
    .unwrap();
    let before = sim.deliveries(&c.account).unwrap().len();
    sim.move_opportunities(&c.account, std::slice::from_ref(&opp), &target)
        .unwrap();
    assert_eq!(sim.deliveries(&c.account).unwrap().len(), before);
    sim.patch_account(
        &c.account,
        AccountPatch {
            webhooks_enabled: Some(true),
            ..AccountPatch::default()
        },
    )
    .unwrap();
    sim.move_opportunities(&c.account, std::slice::from_ref(&opp), &stage)
        .unwrap();
    poll_until(30, "six deliveries", || async {
        (rx.bodies.lock().unwrap().len() == 6).then_some(())
    })
    .await;
    let last: WebhookBody = serde_json::from_slice(&rx.bodies.lock().unwrap()[5].1).unwrap();
    assert_eq!(
        last.stage_change().unwrap().to_stage_id.as_deref(),
        Some(stage.as_str())
    );

    c.client.delete_webhook(&hook.id).await.unwrap();
    assert!(c.client.list_webhooks().await.unwrap().is_empty());
}

#[actix_rt::test]
async fn single_data_create_response_is_parsed_too() {
    let sim = start_sim_with(arkiter_lever::lever::sim::SimConfig {
        workers: 1,
        webhook_create_double_data: false,
        ..Default::default()
    })
    .await;
    let c = connect(&sim, "Single", ClientOptions::default()).await;
    let hook = c
        .client
        .create_webhook(&WebhookCreate {
            url: "https://example.com/h".into(),
            event: "candidateStageChange".into(),
            configuration: None,
        })
        .await
        .unwrap();
    assert_eq!(hook.signature_token().map(str::len), Some(48));
}

// ---------- rate limit ----------

#[actix_rt::test]
async fn rate_limit_is_a_bucket_per_account_without_retry_after() {
    let sim = start_sim().await;
    let a = connect(&sim, "A", ClientOptions::default()).await;
    let b = connect(&sim, "B", ClientOptions::default()).await;
    let url = format!("{}/stages", sim.api_url());
    let ta = a.grant.access_token.expose_secret().to_owned();
    let tb = b.grant.access_token.expose_secret().to_owned();
    let mut ok = 0;
    let mut throttled = None;
    for _ in 0..30 {
        let r = raw("GET", &url, Some(&ta), None).await;
        match r.status {
            200 => ok += 1,
            429 => {
                throttled.get_or_insert(r);
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert!(
        (20..=23).contains(&ok),
        "about the bucket's 20 pass at once, got {ok}"
    );
    let throttled = throttled.expect("a 429");
    assert!(
        throttled.headers.get("retry-after").is_none(),
        "Lever sends no Retry-After"
    );
    assert_same_shape(
        &throttled.body,
        &fixture_json("error_not_found.json"),
        "429 body",
    );
    assert_eq!(
        raw("GET", &url, Some(&tb), None).await.status,
        200,
        "another account has its own bucket"
    );
    let calls = sim.calls_for(&a.account);
    assert!(calls.iter().any(|c| c.status == 429));
}

// ---------- OAuth ----------

#[actix_rt::test]
async fn authorize_checks_parameters_and_reports_refusals() {
    let sim = start_sim().await;
    let account = sim.create_account("Auth");
    let cfg = oauth_config(&sim);
    let base = format!("{}/authorize", sim.auth_url());
    let good = url::Url::parse(&cfg.authorize_url("s1").unwrap()).unwrap();
    let pairs: Vec<(String, String)> = good.query_pairs().into_owned().collect();
    for (drop_key, replace) in [
        ("audience", Some("https://api.lever.co/v1")),
        ("state", None),
        ("client_id", Some("nope")),
        ("response_type", Some("token")),
    ] {
        let mut url = url::Url::parse(&base).unwrap();
        for (k, v) in &pairs {
            if k == drop_key {
                if let Some(r) = replace {
                    url.query_pairs_mut().append_pair(k, r);
                }
            } else {
                url.query_pairs_mut().append_pair(k, v);
            }
        }
        let r = raw("GET", url.as_str(), None, None).await;
        assert_eq!(r.status, 400, "bad {drop_key} refused");
    }

    sim.patch_account(
        &account,
        AccountPatch {
            authorize_mode: Some(AuthorizeMode::Deny),
            ..AccountPatch::default()
        },
    )
    .unwrap();
    let pairs = authorize(&sim, &cfg, "s2").await;
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert_eq!(param(&pairs, "state"), Some("s2"));
    let cb: AuthorizeCallback =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&pairs).unwrap()).unwrap();
    let err = cb.into_code().unwrap_err();
    assert!(!err.is_not_super_admin());

    sim.patch_account(
        &account,
        AccountPatch {
            authorize_mode: Some(AuthorizeMode::NotSuperAdmin),
            ..AccountPatch::default()
        },
    )
    .unwrap();
    let pairs = authorize(&sim, &cfg, "s3").await;
    let cb: AuthorizeCallback =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&pairs).unwrap()).unwrap();
    let err = cb.into_code().unwrap_err();
    assert!(err.is_not_super_admin());
    assert!(err.plain_message().contains("Super Admin"));
    let logged = sim.calls_for(&account);
    assert!(
        logged
            .iter()
            .any(|c| c.path == "/authorize" && c.status == 302)
    );
}

#[actix_rt::test]
async fn refresh_rotates_and_revocation_kills_tokens_until_reauthorised() {
    let sim = start_sim().await;
    let c = connect(&sim, "Rot", ClientOptions::default()).await;
    let cfg = oauth_config(&sim);
    let http = http_for(&sim, Duration::from_secs(5));
    let old = c.grant.refresh_token.clone().unwrap();
    let fresh = oauth::refresh(&http, &cfg, &old).await.unwrap();
    let new_refresh = fresh.refresh_token.clone().unwrap();
    assert_ne!(new_refresh.expose_secret(), old.expose_secret());
    assert_eq!(fresh.account_id.as_deref(), Some(c.account.as_str()));
    let reused = oauth::refresh(&http, &cfg, &old).await.unwrap_err();
    assert!(
        reused.is_needs_reauth(),
        "the used refresh token died: {reused}"
    );

    let stages = format!("{}/stages", sim.api_url());
    let access = fresh.access_token.expose_secret().to_owned();
    assert_eq!(raw("GET", &stages, Some(&access), None).await.status, 200);
    sim.expire_access_tokens(&c.account).unwrap();
    assert_eq!(
        raw("GET", &stages, Some(&access), None).await.status,
        401,
        "expired"
    );
    let refreshed = oauth::refresh(&http, &cfg, &new_refresh).await.unwrap();
    let access = refreshed.access_token.expose_secret().to_owned();
    assert_eq!(raw("GET", &stages, Some(&access), None).await.status, 200);

    sim.revoke(&c.account).unwrap();
    assert_eq!(
        raw("GET", &stages, Some(&access), None).await.status,
        401,
        "revoked"
    );
    let dead = oauth::refresh(&http, &cfg, refreshed.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(dead, LeverError::NeedsReauth(_)));

    let again = connect_account(&sim, &c.account, ClientOptions::default()).await;
    assert_eq!(again.client.list_stages().await.unwrap().len(), 0);
    let token_calls = sim
        .calls_for(&c.account)
        .into_iter()
        .filter(|c| c.path == "/oauth/token")
        .count();
    assert_eq!(
        token_calls, 6,
        "every token call is logged with the account"
    );
}

// ---------- perform_as, control API, faults, pagination ----------

#[actix_rt::test]
async fn perform_as_is_accepted_recorded_and_checked() {
    let sim = start_sim().await;
    let c = connect(&sim, "PA", ClientOptions::default()).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    let user = sim
        .add_user(&c.account, "Rachel", "r@example.com")
        .unwrap()
        .id;
    let client = c.client.with_perform_as(Some(user.clone()));
    client
        .add_tags(&opp, &["Arkiter Live: Link Created".to_owned()])
        .await
        .unwrap();
    let note = arkiter_lever::lever::wire::NoteCreate::text("score 90");
    client.create_note(&opp, &note).await.unwrap();
    let notes = client.list_notes(&opp).await.unwrap();
    assert_eq!(notes[0].body(), Some("score 90"));
    assert_eq!(notes[0].user.as_deref(), Some(user.as_str()));
    let calls = sim.calls_for(&c.account);
    let add = calls.iter().find(|c| c.path.ends_with("/addTags")).unwrap();
    assert_eq!(add.perform_as.as_deref(), Some(user.as_str()));
    assert!(add.query.contains("perform_as="));
    let get = calls
        .iter()
        .find(|c| c.path.ends_with("/notes") && c.method == "GET")
        .unwrap();
    assert_eq!(get.perform_as, None, "reads carry no perform_as");
    let bogus = c.client.with_perform_as(Some("nobody".into()));
    let err = bogus.add_tags(&opp, &["x".to_owned()]).await.unwrap_err();
    assert!(matches!(err, LeverError::Api { status: 400, .. }), "{err}");
}

#[actix_rt::test]
async fn control_api_over_http_does_what_the_handle_does() {
    let sim = start_sim().await;
    let ctl = SimControl::new(&sim);
    let account = ctl.create_account("Ctl").await;
    assert_eq!(account.status, 201);
    let a = account.id();
    let stage = ctl.add_stage(&a, None, "Arkiter Live").await.id();
    let other = ctl.add_stage(&a, Some("s-2"), "Screen").await;
    assert_eq!(other.body["id"], "s-2");
    let posting = ctl.add_posting(&a, "SRE").await.id();
    let user = ctl.add_user(&a, "U", "u@example.com").await;
    assert_eq!(user.status, 200);
    let new = NewOpportunity {
        stage_id: "s-2".into(),
        posting_id: Some(posting),
        ..NewOpportunity::default()
    };
    let opp = ctl.add_opportunity(&a, &new).await.id();
    let moved = ctl
        .move_opportunities(&a, std::slice::from_ref(&opp), &stage, true)
        .await;
    assert_eq!(moved.body["moved"], 1);
    let view = ctl.opportunity(&a, &opp).await;
    assert_eq!(view.body["stage"], stage.as_str());
    assert_eq!(view.body["links"], json!([]));

    assert_eq!(ctl.login(&a).await.status, 204);
    let c = connect_account(&sim, &a, ClientOptions::default()).await;
    let fault = FaultRule::always(FaultAction::Status { status: 503 })
        .times(1)
        .on("GET", "/stages");
    assert_eq!(ctl.add_fault(&a, &fault).await.status, 204);
    let token = c.grant.access_token.expose_secret().to_owned();
    let stages = format!("{}/stages", sim.api_url());
    assert_eq!(raw("GET", &stages, Some(&token), None).await.status, 503);
    assert_eq!(raw("GET", &stages, Some(&token), None).await.status, 200);
    let calls = ctl.calls(&a).await;
    let statuses: Vec<u64> = calls
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"] == "/v1/stages")
        .map(|c| c["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 200]);
    assert!(calls.body[0]["at_ms"].as_i64().unwrap() > 1_600_000_000_000);

    let off = AccountPatch {
        webhooks_enabled: Some(false),
        ..AccountPatch::default()
    };
    let patch = ctl.patch_account(&a, &off).await;
    assert_eq!(patch.body["webhooks_enabled"], false);
    assert_eq!(ctl.revoke(&a).await.status, 204);
    assert_eq!(raw("GET", &stages, Some(&token), None).await.status, 401);
    assert_eq!(ctl.reset().await.status, 204);
    assert_eq!(ctl.account(&a).await.status, 404);
}

#[actix_rt::test]
async fn a_dropped_connection_reaches_awc_as_a_cut() {
    let sim = start_sim().await;
    let c = connect(&sim, "Drop", ClientOptions::default()).await;
    sim.add_fault(&c.account, FaultRule::always(FaultAction::Drop).times(1))
        .unwrap();
    let client = awc::Client::default();
    let url = format!("{}/stages", sim.api_url());
    let result = client
        .get(url)
        .insert_header((
            "Authorization",
            format!("Bearer {}", c.grant.access_token.expose_secret()),
        ))
        .send()
        .await;
    match result {
        Err(_) => {}
        Ok(mut resp) => assert!(resp.body().await.is_err(), "the body must be cut"),
    }
    assert_eq!(sim.calls_for(&c.account).last().unwrap().status, 0);
}

#[actix_rt::test]
async fn lists_paginate_with_next_and_has_next() {
    let sim = start_sim().await;
    let c = connect(&sim, "Pages", ClientOptions::default()).await;
    for i in 0..150 {
        sim.add_stage(&c.account, &format!("Stage {i}")).unwrap();
    }
    let token = c.grant.access_token.expose_secret().to_owned();
    let first = raw(
        "GET",
        &format!("{}/stages", sim.api_url()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 100);
    assert_eq!(first.body["hasNext"], true);
    let next = first.body["next"].as_str().unwrap();
    let second = raw(
        "GET",
        &format!("{}/stages?offset={next}", sim.api_url()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(second.body["data"].as_array().unwrap().len(), 50);
    assert_eq!(second.body["hasNext"], false);
    assert!(second.body.get("next").is_none());
    sim.clear_call_log();
    let all = c.client.list_stages().await.unwrap();
    assert_eq!(all.len(), 150);
    assert_eq!(all[149].text, "Stage 149");
    assert_eq!(sim.call_log().len(), 2, "two pages");
}

#[actix_rt::test]
async fn put_stage_notifies_and_a_bulk_move_of_1000_answers_at_once() {
    let sim = start_sim().await;
    let c = connect(&sim, "Bulk", ClientOptions::default()).await;
    let (stage, _, opp) = seed_basic(&sim, &c.account);
    let target = sim.add_stage(&c.account, "Onsite").unwrap().id;
    let (rx, url) = start_receiver().await;
    let hook = WebhookCreate {
        url,
        event: "candidateStageChange".into(),
        configuration: None,
    };
    c.client.create_webhook(&hook).await.unwrap();

    let token = c.grant.access_token.expose_secret().to_owned();
    let put_url = format!("{}/opportunities/{opp}/stage", sim.api_url());
    let r = raw(
        "PUT",
        &put_url,
        Some(&token),
        Some(json!({"stage": target})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["stage"], target.as_str());
    let r = raw(
        "PUT",
        &put_url,
        Some(&token),
        Some(json!({"stage": "nope"})),
    )
    .await;
    assert_eq!(r.status, 400);
    poll_until(30, "one delivery", || async {
        (rx.bodies.lock().unwrap().len() == 1).then_some(())
    })
    .await;

    let ids: Vec<String> = (0..1000)
        .map(|_| {
            let new = NewOpportunity {
                stage_id: stage.clone(),
                ..NewOpportunity::default()
            };
            sim.add_opportunity(&c.account, new).unwrap().id
        })
        .collect();
    assert_eq!(
        sim.move_opportunities(&c.account, &ids, &target).unwrap(),
        1000
    );
    // The move answers with its deliveries recorded and none sent: they go
    // out from tasks of their own, which have not run yet (no await since).
    let moved: Vec<_> = sim
        .deliveries(&c.account)
        .unwrap()
        .into_iter()
        .filter(|d| d.opportunity_id.as_ref().is_some_and(|o| ids.contains(o)))
        .collect();
    assert_eq!(moved.len(), 1000);
    assert!(
        moved.iter().all(|d| !d.delivered && d.attempts == 0),
        "the move does not wait on deliveries"
    );
    poll_until(30, "the delivery to finish", || async {
        let done = sim
            .deliveries(&c.account)
            .unwrap()
            .iter()
            .filter(|d| d.delivered)
            .count();
        (done == 1001).then_some(())
    })
    .await;
    assert_eq!(rx.bodies.lock().unwrap().len(), 1001);
}
