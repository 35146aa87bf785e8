//! Alerts (docs/contract/alerts.md): signed notifications when a problem
//! opens and resolves, retried until received, Slack's body, the debounce
//! with the production timings (driven by moving the evaluator's clock
//! back), the operator's summaries, and the address rules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use arkiter_lever::alerts::evaluator::evaluate;
use arkiter_lever::config::AlertSettings;
use arkiter_lever::pipeline::hooks::Hooks;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, poll_until, spawn_app_with, spawn_app_with_hooks};
use crate::lever_flow::{point_at, scenario};
use crate::lever_support::start_sim;
use crate::scale_out::{Fleet, connect_accounts};

/// One request a receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    answered: u16,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local HTTP receiver: records every request, answers 500 to the first
/// `failures` (of those about `fail_code` only, when set), then 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    failures: Arc<AtomicUsize>,
    fail_code: Option<&'static str>,
}

impl Receiver {
    async fn start(failures: usize) -> (Self, String) {
        Self::start_failing(failures, None).await
    }

    async fn start_failing(failures: usize, fail_code: Option<&'static str>) -> (Self, String) {
        let r = Self {
            fail_code,
            ..Self::default()
        };
        r.failures.store(failures, Ordering::SeqCst);
        let state = r.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        actix_rt::spawn(server.run());
        (r, format!("http://127.0.0.1:{port}/hook"))
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits for a request whose body's `type` and `data.code` are these.
    async fn wait_for(&self, kind: &str, code: &str, ok: bool) -> Got {
        poll_until(60, &format!("{kind} {code}"), || async {
            self.got().into_iter().find(|g| {
                let b = g.json();
                b["type"] == kind && b["data"]["code"] == code && (g.answered == 200) == ok
            })
        })
        .await
    }

    /// Waits for a received notification of `kind` about `instance`.
    async fn wait_for_instance(&self, kind: &str, instance: &str) -> Got {
        poll_until(60, &format!("{kind} of {instance}"), || async {
            self.of_instance(kind, instance).into_iter().next()
        })
        .await
    }

    /// The received notifications of `kind` about `instance`.
    fn of_instance(&self, kind: &str, instance: &str) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| {
                let b = g.json();
                b["type"] == kind && b["data"]["instance_id"] == instance && g.answered == 200
            })
            .collect()
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, r: web::Data<Receiver>) -> HttpResponse {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let about = |code: &str| {
        serde_json::from_slice::<Value>(&body).is_ok_and(|b| b["data"]["code"] == code)
    };
    let fail = r.fail_code.is_none_or(about)
        && r.failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let answered = if fail { 500 } else { 200 };
    r.got.lock().unwrap().push(Got {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}

/// The Standard Webhooks check, written here from the specification:
/// base64 of HMAC-SHA256 over `id.timestamp.body`, keyed by the base64
/// part of the secret, in a `v1,` entry of the space-separated header.
fn verifies(secret: &str, g: &Got) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut signed = format!("{}.{}.", g.id, g.timestamp).into_bytes();
    signed.extend_from_slice(&g.body);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(&signed);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    g.signature
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

fn fast(a: &mut AlertSettings) {
    a.allow_private = true;
    a.open_after = Duration::from_secs(3);
    a.evaluate_every = Duration::from_secs(1);
    a.resolve_after = Duration::from_secs(3);
    a.retry_base = Duration::from_millis(300);
    a.send_poll = Duration::from_millis(200);
}

async fn add(app: &TestApp, path: &str, key: &str, body: Value) -> Value {
    let r = app.post_json(path, Some(key), &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

#[actix_web::test]
async fn a_revoked_grant_opens_token_revoked_signed_and_reconnecting_resolves_it() {
    let sim = start_sim().await;
    let app = spawn_app_with(|s| {
        point_at(s, &sim);
        fast(&mut s.alerts);
    })
    .await;
    let s = scenario(&app, &sim).await;
    let alerts = format!("/api/v1/orgs/{}/alerts", s.org);
    let (steady, steady_url) = Receiver::start(0).await;
    let (flaky, flaky_url) = Receiver::start_failing(3, Some("token_revoked")).await;
    let dest = add(
        &app,
        &alerts,
        &s.key,
        json!({"url": steady_url, "kind": "webhook"}),
    )
    .await;
    let secret = dest["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    // This one takes `problem.opened` only.
    let flaky_dest = add(
        &app,
        &alerts,
        &s.key,
        json!({"url": flaky_url, "kind": "webhook", "events": ["problem.opened"]}),
    )
    .await;
    let listed = app.get(&alerts, Some(&s.key)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    assert!(
        !listed.body.to_string().contains(&secret),
        "the secret is shown once"
    );

    // Lever revokes the grant; the next call finds it.
    sim.revoke(&s.account).unwrap();
    sim.expire_access_tokens(&s.account).unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{}/lever/sweep", s.org),
            Some(&s.key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    poll_until(30, "needs_reauth", || async {
        let r = app.get_lever(&s.org, &s.key).await;
        (r.body["status"] == "needs_reauth").then_some(())
    })
    .await;
    let revoked = Instant::now();
    let opened = steady
        .wait_for("problem.opened", "token_revoked", true)
        .await;
    // Opened after it held 3 s, evaluated every 1 s: within 3 + 2 × 1 s,
    // and a second for the send on a busy machine.
    assert!(
        revoked.elapsed() <= Duration::from_secs(6),
        "{:?}",
        revoked.elapsed()
    );
    assert!(verifies(&secret, &opened), "{opened:?}");
    let body = opened.json();
    assert_eq!(body["data"]["org_id"], s.org.as_str());
    assert!(body["data"]["connection_id"].is_string() && body["timestamp"].is_string());
    assert!(body["data"]["message"].is_string());

    // Reconnecting clears it; resolved only after 3 s clear.
    sim.login(&s.account).unwrap();
    let again = app.connect_lever(&s.org, &s.key).await;
    assert_eq!(again.body["connection_status"], "active", "{}", again.body);
    let cleared = Instant::now();
    let resolved = steady
        .wait_for("problem.resolved", "token_revoked", true)
        .await;
    assert!(
        cleared.elapsed() >= Duration::from_secs(3),
        "{:?}",
        cleared.elapsed()
    );
    assert!(verifies(&secret, &resolved));
    assert_ne!(resolved.id, opened.id);

    // The receiver that answered 500 three times got it later, exactly
    // once, every try with the same webhook-id.
    let delivered = flaky
        .wait_for("problem.opened", "token_revoked", true)
        .await;
    let tries: Vec<Got> = flaky
        .got()
        .into_iter()
        .filter(|g| g.id == delivered.id)
        .collect();
    assert_eq!(
        tries.iter().map(|g| g.answered).collect::<Vec<_>>(),
        [500, 500, 500, 200]
    );
    let flaky_secret = flaky_dest["secret"].as_str().unwrap();
    assert!(tries.iter().all(|g| verifies(flaky_secret, g)));
    let ok_opened = flaky
        .got()
        .iter()
        .filter(|g| {
            let b = g.json();
            g.answered == 200
                && b["type"] == "problem.opened"
                && b["data"]["code"] == "token_revoked"
        })
        .count();
    assert_eq!(ok_opened, 1);
    assert!(
        flaky
            .got()
            .iter()
            .all(|g| g.json()["type"] == "problem.opened"),
        "only what it asked for"
    );
    // The steady one also heard of the status change.
    let changed = steady
        .wait_for("connection.status_changed", "needs_reauth", true)
        .await;
    assert!(verifies(&secret, &changed));
    let sends = app
        .get(
            &format!("{alerts}/{}/deliveries", flaky_dest["id"].as_str().unwrap()),
            Some(&s.key),
        )
        .await;
    let statuses: Vec<i64> = sends.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["webhook_id"] == delivered.id.as_str())
        .map(|d| d["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 500, 500, 500], "newest first");
}

#[actix_web::test]
async fn a_slack_destination_gets_text_and_a_test_send_reaches_a_webhook() {
    let app = spawn_app_with(|s| fast(&mut s.alerts)).await;
    let (org, key) = app.new_org("Acme").await;
    let alerts = format!("/api/v1/orgs/{org}/alerts");
    let (slack, slack_url) = Receiver::start(0).await;
    let d = add(
        &app,
        &alerts,
        &key,
        json!({"url": slack_url, "kind": "slack"}),
    )
    .await;
    assert!(d.get("secret").is_none(), "{d}");
    let r = app
        .post_json(
            &format!("{alerts}/{}/test", d["id"].as_str().unwrap()),
            Some(&key),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let got = poll_until(30, "the Slack message", || async { slack.got().pop() }).await;
    let body = got.json();
    assert!(body["text"].as_str().unwrap().contains("test"), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "only text: {body}");
    assert!(got.signature.is_empty());

    // Bad input changes nothing.
    for bad in [
        json!({"url": slack_url, "kind": "email"}),
        json!({"url": "not a url", "kind": "webhook"}),
        json!({"url": slack_url, "kind": "webhook", "events": ["problem.exploded"]}),
        json!({"url": slack_url, "kind": "webhook", "events": []}),
    ] {
        assert_eq!(
            app.post_json(&alerts, Some(&key), &bad).await.status,
            422,
            "{bad}"
        );
    }
    let (member, _) = app.new_key(&org, &key, "member", "m").await;
    assert_eq!(app.get(&alerts, Some(&member)).await.status, 403);
    assert_eq!(app.get("/api/v1/alerts", Some(&key)).await.status, 403);
    assert_eq!(
        app.get(&alerts, Some(&key)).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Drives the evaluator by hand with the production timings, moving its
/// memory's clock back instead of waiting.
fn production_rules() -> AlertSettings {
    AlertSettings::default()
}

fn exec(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).execute(&mut app.db()).unwrap();
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    v: Value,
}

fn json_rows(app: &TestApp, sql: &str) -> Vec<Value> {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .load::<Row>(&mut app.db())
        .unwrap()
        .into_iter()
        .map(|r| r.v)
        .collect()
}

fn back(app: &TestApp, column: &str, secs: i64) {
    exec(
        app,
        &format!(
            "UPDATE alert_problems SET {column} = {column} - interval '{secs} seconds' \
         WHERE {column} IS NOT NULL"
        ),
    );
}

fn queued(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) AS n FROM alert_outbox WHERE type = '{kind}'"
    ))
}

#[actix_web::test]
async fn flapping_70_held_30_clear_70_held_gives_one_opened_and_no_resolved() {
    let app = spawn_app_with(|s| {
        s.alerts.allow_private = true;
        s.alerts.evaluate_every = Duration::from_secs(3600);
    })
    .await;
    let (org, key) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some("stage"), &["tok"]);
    let (_r, url) = Receiver::start(0).await;
    add(
        &app,
        &format!("/api/v1/orgs/{org}/alerts"),
        &key,
        json!({"url": url, "kind": "webhook"}),
    )
    .await;
    let settings = production_rules();
    let mut db = app.db();
    let set = |on: bool| {
        let problems = if on {
            r#"[{"code":"stage_missing","message":"gone"}]"#
        } else {
            "[]"
        };
        exec(
            &app,
            &format!("UPDATE connections SET problems = '{problems}' WHERE id = '{conn}'"),
        );
    };
    set(true);
    evaluate(&mut db, &settings).unwrap();
    back(&app, "held_since", 55);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(queued(&app, "problem.opened"), 0, "held 55 s: not yet");
    back(&app, "held_since", 15);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(queued(&app, "problem.opened"), 1, "held 70 s");
    set(false);
    evaluate(&mut db, &settings).unwrap();
    back(&app, "clear_since", 30);
    evaluate(&mut db, &settings).unwrap();
    set(true);
    evaluate(&mut db, &settings).unwrap();
    back(&app, "held_since", 70);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(queued(&app, "problem.opened"), 1);
    assert_eq!(queued(&app, "problem.resolved"), 0);
    // Clear for 5 minutes: resolved, once.
    set(false);
    evaluate(&mut db, &settings).unwrap();
    back(&app, "clear_since", 299);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(queued(&app, "problem.resolved"), 0, "299 s clear");
    back(&app, "clear_since", 1);
    evaluate(&mut db, &settings).unwrap();
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(queued(&app, "problem.resolved"), 1);
}

/// `n` new orgs whose connection lost its grant.
async fn lose(app: &TestApp, n: usize, tag: &str) {
    for i in 0..n {
        let (org, _) = app.new_org(&format!("{tag} {i}")).await;
        let conn = app.insert_connection(&org, "needs_reauth", Some("stage"), &["tok"]);
        exec(
            app,
            &format!(
                "UPDATE connections SET problems = \
                 '[{{\"code\":\"token_revoked\",\"message\":\"reconnect\"}}]' WHERE id = '{conn}'"
            ),
        );
    }
}

#[actix_web::test]
async fn a_hundred_orgs_losing_lever_give_the_operator_one_summary_per_code_per_5_minutes() {
    let app = spawn_app_with(|s| {
        s.alerts.allow_private = true;
        s.alerts.evaluate_every = Duration::from_secs(3600);
    })
    .await;
    let (_r, url) = Receiver::start(0).await;
    add(
        &app,
        "/api/v1/alerts",
        &app.admin(),
        json!({"url": url, "kind": "webhook"}),
    )
    .await;
    lose(&app, 100, "First").await;
    let settings = production_rules();
    let mut db = app.db();
    // Counted for the code lost here: a connection without its grant may
    // also show a computed problem (its sweep failing), summarised apart.
    const OPERATOR_TOKEN_REVOKED: &str = "FROM alert_outbox o JOIN alert_destinations d \
         ON d.id = o.destination_id WHERE d.org_id IS NULL \
         AND o.body->'data'->>'code' = 'token_revoked'";
    let summaries =
        |app: &TestApp| app.count(&format!("SELECT count(*) AS n {OPERATOR_TOKEN_REVOKED}"));
    evaluate(&mut db, &settings).unwrap();
    back(&app, "held_since", 60);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(summaries(&app), 1, "one summary for 100 orgs");
    let body: Vec<Value> = json_rows(
        &app,
        &format!("SELECT o.body AS v {OPERATOR_TOKEN_REVOKED}"),
    );
    assert_eq!(body[0]["data"]["code"], "token_revoked");
    assert_eq!(body[0]["data"]["org_ids"].as_array().unwrap().len(), 100);
    // More orgs within the 5 minutes wait for the next summary.
    lose(&app, 3, "Second").await;
    evaluate(&mut db, &settings).unwrap();
    back(&app, "held_since", 60);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(summaries(&app), 1);
    exec(
        &app,
        "UPDATE alert_summaries SET last_sent_at = last_sent_at - interval '5 minutes'",
    );
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(summaries(&app), 2);
    let newest: Vec<Value> = json_rows(
        &app,
        &format!("SELECT o.body AS v {OPERATOR_TOKEN_REVOKED} ORDER BY o.id DESC LIMIT 1"),
    );
    assert_eq!(newest[0]["data"]["org_ids"].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn private_addresses_are_refused_at_create_and_at_every_send() {
    // The allow setting off: loopback refused when added.
    let resolved_to = Arc::new(Mutex::new("93.184.216.34".to_owned()));
    let dns = resolved_to.clone();
    let hooks = Hooks::none().resolve_hosts_with(Arc::new(move |_host, port| {
        let ip: std::net::IpAddr = dns.lock().unwrap().parse().unwrap();
        Box::pin(async move { Ok(vec![std::net::SocketAddr::new(ip, port)]) })
    }));
    let app =
        spawn_app_with_hooks(|s| s.alerts.send_poll = Duration::from_millis(200), hooks).await;
    let (org, key) = app.new_org("Acme").await;
    let alerts = format!("/api/v1/orgs/{org}/alerts");
    let (receiver, url) = Receiver::start(0).await;
    for refused in [
        url.clone(),
        "https://127.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest".to_owned(),
        "https://[::1]/hook".to_owned(),
        "https://hooks.example.com/not-slack".to_owned(),
    ] {
        let kind = if refused.contains("not-slack") {
            "slack"
        } else {
            "webhook"
        };
        let r = app
            .post_json(&alerts, Some(&key), &json!({"url": refused, "kind": kind}))
            .await;
        assert_eq!(r.status, 422, "{refused}: {}", r.body);
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM alert_destinations"), 0);
    // A name that resolves to a public address when added...
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let d = add(
        &app,
        &alerts,
        &key,
        json!({"url": format!("https://receiver.test:{port}/hook"), "kind": "webhook"}),
    )
    .await;
    // ...and to loopback when sent to is refused then: nothing is sent.
    *resolved_to.lock().unwrap() = "127.0.0.1".to_owned();
    let id = d["id"].as_str().unwrap();
    let r = app
        .post_json(&format!("{alerts}/{id}/test"), Some(&key), &json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let sends = poll_until(30, "the refused send recorded", || async {
        let r = app
            .get(&format!("{alerts}/{id}/deliveries"), Some(&key))
            .await;
        r.body["items"]
            .as_array()
            .filter(|i| !i.is_empty())
            .cloned()
    })
    .await;
    assert!(sends[0]["status"].is_null(), "{sends:?}");
    assert!(
        sends[0]["error"].as_str().unwrap().contains("loopback"),
        "{sends:?}"
    );
    assert!(receiver.got().is_empty());
}

/// The operator hears of the instances: one started, one whose leases were
/// taken over after a SIGKILL (once, naming the connections it held), and
/// one that drained and stopped after a SIGTERM; an org's destination may
/// not ask for them.
#[actix_web::test]
async fn the_operator_hears_of_an_instance_started_taken_over_and_stopped() {
    let (receiver, url) = Receiver::start(0).await;
    let mut fleet = Fleet::new(2, true).await;
    let allow = [("ARKITER_ALERTS_ALLOW_PRIVATE", "1")];
    fleet.start_with(0, &allow).await;
    fleet.wait_ready(0).await;
    let app = fleet.app();
    let events = json!(["instance.started", "instance.stopped", "lease.taken_over"]);
    let dest = add(
        &app,
        "/api/v1/alerts",
        &app.admin(),
        json!({"url": url, "kind": "webhook", "events": events}),
    )
    .await;
    let secret = dest["secret"].as_str().unwrap().to_owned();
    let (org, key) = app.new_org("Org of instances").await;
    let r = app
        .post_json(
            &format!("/api/v1/orgs/{org}/alerts"),
            Some(&key),
            &json!({"url": url, "kind": "webhook", "events": ["instance.started"]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    connect_accounts(&app, &fleet.sim, 4).await;

    fleet.start_with(1, &allow).await;
    fleet.wait_ready(1).await;
    let started = receiver
        .wait_for_instance("instance.started", "inst-1")
        .await;
    assert!(verifies(&secret, &started));
    let held = poll_until(30, "inst-1 holds its share", || async {
        let n = fleet.owners().values().filter(|o| *o == "inst-1").count();
        (n >= 2).then_some(n)
    })
    .await;

    fleet.signal(1, nix::sys::signal::Signal::SIGKILL);
    let taken = receiver
        .wait_for_instance("lease.taken_over", "inst-1")
        .await;
    assert!(verifies(&secret, &taken));
    let data = taken.json()["data"].clone();
    assert_eq!(data["connections"], json!(held), "{data}");
    assert_eq!(data["taken_by"], "inst-0", "{data}");
    poll_until(30, "inst-0 holds every connection", || async {
        let o = fleet.owners();
        (o.len() == 4 && o.values().all(|v| v == "inst-0")).then_some(())
    })
    .await;
    assert_eq!(
        queued(&app, "lease.taken_over"),
        1,
        "one notification per dead instance"
    );

    fleet.start_with(1, &allow).await;
    fleet.wait_ready(1).await;
    poll_until(30, "inst-1 started again", || async {
        (receiver.of_instance("instance.started", "inst-1").len() == 2).then_some(())
    })
    .await;
    fleet.signal(1, nix::sys::signal::Signal::SIGTERM);
    let stopped = receiver
        .wait_for_instance("instance.stopped", "inst-1")
        .await;
    assert!(verifies(&secret, &stopped));
    assert!(stopped.json()["data"]["connections"].is_u64());
    assert!(
        receiver
            .of_instance("instance.started", "inst-0")
            .is_empty(),
        "inst-0 started before the destination existed"
    );
}

/// A problem the health page computes from figures, not one stored on the
/// connection: deliveries refused for their signature open
/// `signature_failures`, with the health page's own words, and it resolves
/// once the refusals are more than an hour old. A computed problem whose
/// code is already stored is watched once.
#[actix_web::test]
async fn refused_signatures_open_signature_failures_with_health_words_and_age_out() {
    use crate::webhooks::{KEY, STAGE, stage_change};
    let app = spawn_app_with(|s| {
        s.alerts.allow_private = true;
        s.alerts.evaluate_every = Duration::from_secs(3600);
    })
    .await;
    let (org, key) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some(STAGE), &[KEY]);
    let (receiver, url) = Receiver::start(0).await;
    let dest = add(
        &app,
        &format!("/api/v1/orgs/{org}/alerts"),
        &key,
        json!({"url": url, "kind": "webhook"}),
    )
    .await;
    let secret = dest["secret"].as_str().unwrap().to_owned();
    for opp in ["opp-1", "opp-2"] {
        let r = app
            .post_webhook(&conn, &stage_change("not-the-key", opp, STAGE))
            .await;
        r.assert_error(401, "invalid_signature");
    }
    let health = format!("/api/v1/orgs/{org}/lever/health");
    let shown = poll_until(30, "the refusals counted on the health page", || async {
        let h = app.get(&health, Some(&key)).await.body;
        h["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == "signature_failures")
            .map(|p| p["message"].as_str().unwrap().to_owned())
            .filter(|m| m.starts_with("2 deliveries"))
    })
    .await;

    let settings = production_rules();
    let mut db = app.db();
    let opened_for = |code: &str| {
        app.count(&format!(
            "SELECT count(*) AS n FROM alert_outbox \
             WHERE type = 'problem.opened' AND body->'data'->>'code' = '{code}'"
        ))
    };
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(opened_for("signature_failures"), 0, "held 0 s: not yet");
    back(&app, "held_since", 61);
    evaluate(&mut db, &settings).unwrap();
    assert_eq!(opened_for("signature_failures"), 1, "held 61 s");
    let got = receiver
        .wait_for("problem.opened", "signature_failures", true)
        .await;
    assert!(verifies(&secret, &got));
    let data = got.json()["data"].clone();
    assert_eq!(data["connection_id"], conn.as_str(), "{data}");
    assert_eq!(data["message"], shown.as_str(), "the health page's words");

    // Stored under the same code too (as a pipeline might): still one problem.
    exec(
        &app,
        &format!(
            "UPDATE connections SET problems = \
             '[{{\"code\":\"signature_failures\",\"message\":\"stored\"}}]' WHERE id = '{conn}'"
        ),
    );
    evaluate(&mut db, &settings).unwrap();
    let watched: Vec<Value> = json_rows(
        &app,
        "SELECT to_jsonb(p) AS v FROM alert_problems p WHERE code = 'signature_failures'",
    );
    assert_eq!(watched.len(), 1, "{watched:?}");
    exec(
        &app,
        &format!("UPDATE connections SET problems = '[]' WHERE id = '{conn}'"),
    );

    // The refusals fall out of the last hour: clear, then resolved after 5 minutes.
    exec(
        &app,
        &format!(
            "UPDATE connection_counters SET minute = minute - interval '61 minutes' \
             WHERE connection_id = '{conn}'"
        ),
    );
    evaluate(&mut db, &settings).unwrap();
    back(&app, "clear_since", 301);
    evaluate(&mut db, &settings).unwrap();
    let resolved = receiver
        .wait_for("problem.resolved", "signature_failures", true)
        .await;
    assert!(verifies(&secret, &resolved));
    assert_eq!(opened_for("signature_failures"), 1);
    assert_eq!(queued(&app, "problem.resolved"), 1);
}
