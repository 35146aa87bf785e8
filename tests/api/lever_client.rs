//! The Lever client against the simulator: OAuth, refresh and rotation,
//! re-authorisation, retries (429, 5xx, timeouts, cut connections), the
//! "outcome unknown" rule for writes, the limiter, and HTTPS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use arkiter_lever::lever::sim::{FaultAction, FaultRule, SimConfig, SimHandle};
use arkiter_lever::lever::wire::{NoteCreate, WebhookCreate};
use arkiter_lever::lever::{
    CallOutcome, HttpSettings, LeverClient, LeverClientConfig, LeverError, OAuthConfig,
    RetryPolicy, new_limiter, oauth,
};
use futures_util::future::join_all;
use secrecy::{ExposeSecret as _, SecretString};

use crate::helpers::poll_until;
use crate::lever_support::*;

fn calls_to(
    sim: &SimHandle,
    account: &str,
    suffix: &str,
) -> Vec<arkiter_lever::lever::sim::CallRecord> {
    sim.calls_for(account)
        .into_iter()
        .filter(|c| c.path.ends_with(suffix))
        .collect()
}

/// The statuses the simulator logged for [`calls_to`] `suffix`, in order.
fn statuses_of(sim: &SimHandle, account: &str, suffix: &str) -> Vec<u16> {
    calls_to(sim, account, suffix)
        .iter()
        .map(|c| c.status)
        .collect()
}

#[actix_rt::test]
async fn code_exchange_gives_tokens_and_the_account_claim() {
    let sim = start_sim().await;
    let c = connect(&sim, "Exchange", ClientOptions::default()).await;
    assert_eq!(c.grant.account_id.as_deref(), Some(c.account.as_str()));
    assert!(
        c.grant.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
    assert!(c.grant.expires_at > chrono::Utc::now() + chrono::Duration::minutes(50));
    let token_calls = calls_to(&sim, &c.account, "/oauth/token");
    assert_eq!(token_calls.len(), 1);
    assert_eq!(token_calls[0].status, 200);
    // A used code cannot be exchanged twice.
    let cfg = oauth_config(&sim);
    let http = http_for(&sim, Duration::from_secs(5));
    let err = oauth::exchange_code(&http, &cfg, "not-a-code", "state-1")
        .await
        .unwrap_err();
    assert!(err.is_needs_reauth(), "invalid_grant: {err}");
}

#[actix_rt::test]
async fn a_401_refreshes_once_then_succeeds_and_the_rotation_reaches_the_store() {
    let sim = start_sim().await;
    let c = connect(&sim, "Refresh", ClientOptions::default()).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    sim.expire_access_tokens(&c.account).unwrap();
    sim.clear_call_log();
    let got = c.client.get_opportunity(&opp).await.unwrap();
    assert_eq!(got.id, opp);
    let log: Vec<(String, u16)> = sim
        .call_log()
        .into_iter()
        .map(|c| (c.path, c.status))
        .collect();
    let opp_path = format!("/v1/opportunities/{opp}");
    assert_eq!(
        log,
        vec![
            (opp_path.clone(), 401),
            ("/oauth/token".to_owned(), 200),
            (opp_path, 200)
        ]
    );
    assert_eq!(c.tokens.refresh_count(), 1);
    let stored = c.rotations.lock().unwrap().clone();
    let original = c
        .grant
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_eq!(stored.len(), 1, "the rotated token was handed to the store");
    assert_ne!(stored[0], original);
    let held = c.tokens.current_refresh_token().await.unwrap();
    assert_eq!(held.expose_secret(), stored[0]);
    // The old refresh token is dead: the store must keep the newest one.
    let http = http_for(&sim, Duration::from_secs(5));
    let err = oauth::refresh(&http, &oauth_config(&sim), &SecretString::from(original))
        .await
        .unwrap_err();
    assert!(err.is_needs_reauth());
}

#[actix_rt::test]
async fn concurrent_401s_share_one_refresh() {
    let sim = start_sim().await;
    let c = connect(&sim, "SingleFlight", ClientOptions::default()).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    sim.expire_access_tokens(&c.account).unwrap();
    let results = join_all((0..8).map(|_| c.client.get_opportunity(&opp))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(c.tokens.refresh_count(), 1, "one refresh for all callers");
    assert_eq!(calls_to(&sim, &c.account, "/oauth/token").len(), 2);
}

#[actix_rt::test]
async fn a_revoked_account_needs_reauth_after_one_refresh_and_no_further_calls() {
    let sim = start_sim().await;
    let c = connect(&sim, "Revoked", ClientOptions::default()).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    c.client.get_opportunity(&opp).await.unwrap();
    sim.revoke(&c.account).unwrap();
    sim.clear_call_log();
    let err = c.client.get_opportunity(&opp).await.unwrap_err();
    assert!(err.is_needs_reauth(), "{err}");
    assert!(err.is_account_wide());
    let log: Vec<(String, u16)> = sim
        .call_log()
        .into_iter()
        .map(|c| (c.path, c.status))
        .collect();
    assert_eq!(
        log,
        vec![
            (format!("/v1/opportunities/{opp}"), 401),
            ("/oauth/token".to_owned(), 403)
        ]
    );
    let err = c
        .client
        .add_tags(&opp, &["x".to_owned()])
        .await
        .unwrap_err();
    assert!(err.is_needs_reauth());
    assert_eq!(
        sim.call_log().len(),
        2,
        "no further calls once re-authorisation is needed"
    );
    assert_eq!(c.tokens.refresh_count(), 1);
}

/// A token endpoint that omits `refresh_token` on refresh.
async fn start_stingy_token_server() -> String {
    async fn token() -> HttpResponse {
        HttpResponse::Ok().json(serde_json::json!({
            "access_token": "a.eyJodHRwczovL29hdXRoLmxldmVyLmNvL2FjY291bnRJZCI6ImFjYyJ9.c",
            "token_type": "Bearer", "expires_in": 3600
        }))
    }
    let server = HttpServer::new(|| App::new().route("/oauth/token", web::post().to(token)))
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    format!("http://{addr}")
}

#[actix_rt::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_stored_one() {
    let base = start_stingy_token_server().await;
    let cfg = OAuthConfig {
        client_id: "c".into(),
        client_secret: SecretString::from("s"),
        auth_url: base.clone(),
        api_url: format!("{base}/v1"),
        redirect_uri: REDIRECT_URI.into(),
        scopes: arkiter_lever::lever::SCOPES.to_owned(),
    };
    let http = HttpSettings::new(Duration::from_secs(2), Duration::from_secs(5), None).unwrap();
    let grant = oauth::refresh(&http, &cfg, &SecretString::from("v1.keep-me"))
        .await
        .unwrap();
    assert_eq!(grant.refresh_token.unwrap().expose_secret(), "v1.keep-me");
    assert_eq!(grant.account_id.as_deref(), Some("acc"));
}

#[actix_rt::test]
async fn a_429_storm_is_ridden_out_and_refused_writes_are_resent() {
    let sim = start_sim().await;
    // No local protection: the simulator's bucket (20, 10/s) does the refusing.
    let retry = RetryPolicy {
        max_attempts: 20,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(30),
    };
    let opts = ClientOptions {
        rate_per_sec: 1000,
        burst: 1000,
        retry,
        ..ClientOptions::default()
    };
    let c = connect(&sim, "Storm", opts).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    let results = join_all((0..60).map(|_| c.client.get_opportunity(&opp))).await;
    assert!(
        results.iter().all(Result::is_ok),
        "every read eventually succeeds"
    );
    let throttled = calls_to(&sim, &c.account, &opp)
        .iter()
        .filter(|c| c.status == 429)
        .count();
    assert!(throttled > 0, "the storm really happened");

    let tag = vec!["Arkiter Live: Link Created".to_owned()];
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::Status { status: 429 })
            .times(3)
            .on("POST", "/addTags"),
    )
    .unwrap();
    c.client.add_tags(&opp, &tag).await.unwrap();
    // The storm may have left Lever's bucket empty, so Lever itself can refuse
    // more than the three injected: count by outcome, not in total.
    let add_tags = calls_to(&sim, &c.account, "/addTags");
    let refused = add_tags.iter().filter(|c| c.status == 429).count();
    let applied = add_tags.iter().filter(|c| c.status / 100 == 2).count();
    assert!(
        refused >= 3,
        "a write refused with 429 is resent: {add_tags:?}"
    );
    assert_eq!(applied, 1, "and applied once: {add_tags:?}");
    assert_eq!(sim.opportunity(&c.account, &opp).unwrap().tags, tag);
}

#[actix_rt::test]
async fn a_30_percent_503_phase_on_reads_is_ridden_out() {
    let sim = start_sim().await;
    // The client paced at Lever's own rate: at 100 calls/s it also drew
    // 429s from the simulator's bucket (10/s, 20 deep), which count against
    // the same 12 attempts, and once in a CI run a read ran out of them
    // (the last answer a 503) on what was not a 30 % phase alone.
    let c = connect(&sim, "Flaky", ClientOptions::default()).await;
    let (_, posting, opp) = seed_basic(&sim, &c.account);
    let phase = FaultRule::always(FaultAction::Status { status: 503 })
        .on("GET", "/v1/")
        .with_probability(0.3);
    sim.add_fault(&c.account, phase).unwrap();
    for _ in 0..15 {
        assert_eq!(c.client.get_opportunity(&opp).await.unwrap().id, opp);
        assert_eq!(c.client.get_posting(&posting).await.unwrap().id, posting);
    }
    let failed = sim
        .calls_for(&c.account)
        .iter()
        .filter(|c| c.status == 503)
        .count();
    assert!(failed > 0, "some calls were refused");
    sim.clear_faults(&c.account).unwrap();
}

#[actix_rt::test]
async fn a_400_is_not_retried() {
    let sim = start_sim().await;
    let c = connect(&sim, "BadRequest", ClientOptions::default()).await;
    let err = c
        .client
        .create_webhook(&WebhookCreate {
            url: "https://x.example/h".into(),
            event: "noSuchEvent".into(),
            configuration: None,
        })
        .await
        .unwrap_err();
    match &err {
        LeverError::Api {
            status: 400,
            code,
            message,
            ..
        } => {
            assert_eq!(code.as_deref(), Some("BadRequestError"));
            assert!(message.as_deref().unwrap().contains("noSuchEvent"));
        }
        other => panic!("expected a 400, got {other}"),
    }
    assert!(!err.is_account_wide());
    assert_eq!(calls_to(&sim, &c.account, "/webhooks").len(), 1);
    let err = c.client.get_opportunity("missing").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(calls_to(&sim, &c.account, "/missing").len(), 1);
}

#[actix_rt::test]
async fn a_read_timing_out_or_cut_is_retried() {
    let sim = start_sim().await;
    let opts = ClientOptions {
        request_timeout: Duration::from_millis(400),
        ..ClientOptions::default()
    };
    let c = connect(&sim, "Slow", opts).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::Latency { ms: 5000 })
            .times(1)
            .on("GET", "/opportunities/"),
    )
    .unwrap();
    assert_eq!(c.client.get_opportunity(&opp).await.unwrap().id, opp);
    // The simulator logs a call when it answers: the retry's answer is
    // there, the slow call (which waits 5 s) not yet.
    let answered = statuses_of(&sim, &c.account, &opp);
    assert_eq!(answered, [200], "did not wait for the slow answer");
    poll_until(30, "both calls for the opportunity", || async {
        (calls_to(&sim, &c.account, &opp).len() == 2).then_some(())
    })
    .await;

    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::Drop)
            .times(1)
            .on("GET", "/opportunities/"),
    )
    .unwrap();
    assert_eq!(c.client.get_opportunity(&opp).await.unwrap().id, opp);
    let statuses = statuses_of(&sim, &c.account, &opp);
    assert_eq!(&statuses[2..], &[0, 200]);
}

#[actix_rt::test]
async fn writes_with_unknown_outcome_are_returned_not_resent() {
    let sim = start_sim().await;
    let opts = ClientOptions {
        request_timeout: Duration::from_millis(400),
        ..ClientOptions::default()
    };
    let c = connect(&sim, "Unknown", opts).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    let link = vec!["https://arkiter.example/live/t1".to_owned()];

    // Applied, then a 503: the link is there once, and the call was not resent.
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::ApplyThenStatus { status: 503 })
            .times(1)
            .on("POST", "/addLinks"),
    )
    .unwrap();
    let err = c.client.add_links(&opp, &link).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(sim.opportunity(&c.account, &opp).unwrap().links, link);
    assert_eq!(calls_to(&sim, &c.account, "/addLinks").len(), 1);

    // Applied, then the connection is cut.
    let tag = vec!["Arkiter Live: Link Created".to_owned()];
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::ApplyThenDrop)
            .times(1)
            .on("POST", "/addTags"),
    )
    .unwrap();
    let Err(err) = c.client.add_tags(&opp, &tag).await else {
        panic!("{:#?}", sim.calls_for(&c.account))
    };
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(sim.opportunity(&c.account, &opp).unwrap().tags, tag);
    assert_eq!(calls_to(&sim, &c.account, "/addTags").len(), 1);

    // A 500 before applying is still unknown to the client: not resent.
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::Status { status: 500 })
            .times(1)
            .on("POST", "/notes"),
    )
    .unwrap();
    let err = c
        .client
        .create_note(&opp, &NoteCreate::text("score 70"))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown());
    assert!(
        c.client.list_notes(&opp).await.unwrap().is_empty(),
        "the checking read shows it did not land"
    );
    assert_eq!(
        calls_to(&sim, &c.account, "/notes")
            .iter()
            .filter(|c| c.method == "POST")
            .count(),
        1
    );

    // A write timing out after it was sent.
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::Latency { ms: 1500 })
            .times(1)
            .on("POST", "/removeTags"),
    )
    .unwrap();
    let result = c.client.remove_tags(&opp, &tag).await;
    let Err(err) = result else {
        panic!("{:#?}", sim.calls_for(&c.account))
    };
    assert!(err.is_outcome_unknown(), "{err}");
    poll_until(30, "the removeTags call", || async {
        (calls_to(&sim, &c.account, "/removeTags").len() == 1).then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn outcomes_reach_the_observer_and_prometheus() {
    let sim = start_sim().await;
    let c = connect(&sim, "Observed", ClientOptions::default()).await;
    let (_, _, opp) = seed_basic(&sim, &c.account);
    let seen: Arc<Mutex<Vec<CallOutcome>>> = Arc::default();
    let sink = seen.clone();
    let mut config: LeverClientConfig = c.client.config().clone();
    config.observer = Some(Arc::new(move |o: &CallOutcome| {
        sink.lock().unwrap().push(o.clone())
    }));
    let client = LeverClient::new(
        config,
        c.client.limiter().clone(),
        c.client.tokens().clone(),
    );
    sim.add_fault(
        &c.account,
        FaultRule::always(FaultAction::Status { status: 503 })
            .times(2)
            .on("GET", "/opportunities/"),
    )
    .unwrap();
    client.get_opportunity(&opp).await.unwrap();
    client.get_opportunity("missing").await.unwrap_err();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].is_success());
    assert_eq!(
        (seen[0].endpoint, seen[0].attempts, seen[0].retries),
        ("get_opportunity", 3, 2)
    );
    assert_eq!(
        (seen[1].status, seen[1].result),
        (Some(404), "client_error")
    );
    let families = prometheus::gather();
    let names: Vec<&str> = families.iter().map(|f| f.get_name()).collect();
    for name in [
        "lever_calls_total",
        "lever_retries_total",
        "lever_limiter_wait_seconds",
    ] {
        assert!(names.contains(&name), "{name} is exported");
    }
}

#[actix_rt::test]
async fn the_client_completes_calls_over_https() {
    let sim = start_sim_with(SimConfig {
        tls: true,
        workers: 1,
        ..SimConfig::default()
    })
    .await;
    assert!(sim.base_url().starts_with("https://"));
    let c = connect(&sim, "Tls", ClientOptions::default()).await;
    let (stage, _, _) = seed_basic(&sim, &c.account);
    let stages = c.client.list_stages().await.unwrap();
    assert_eq!(stages[0].id, stage);

    // Without trusting the throwaway certificate, the handshake fails.
    let untrusting = LeverClient::new(
        LeverClientConfig {
            http: HttpSettings::new(Duration::from_secs(2), Duration::from_secs(2), None).unwrap(),
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            ..c.client.config().clone()
        },
        new_limiter(10, 15).unwrap(),
        c.client.tokens().clone(),
    );
    let err = untrusting.list_stages().await.unwrap_err();
    assert!(matches!(err, LeverError::Exhausted { .. }), "{err}");
}

/// Checks one connection's 200 calls as the simulator saw them: in every
/// window at most the burst plus the rate (which also makes them take 18.4 s
/// at least).
fn assert_within_budget(sim: &SimHandle, account: &str) {
    let calls = calls_to(sim, account, "/v1/stages");
    assert_eq!(calls.len(), 200);
    assert!(calls.iter().all(|c| c.status == 200), "zero 429s");
    let times: Vec<i64> = calls.iter().map(|c| c.at_ms).collect();
    for i in 0..times.len() {
        for j in i..times.len() {
            let count = (j - i + 1) as f64;
            let window_s = (times[j] - times[i]) as f64 / 1000.0;
            // +1: the log's timestamps are taken after the request travels.
            assert!(
                count <= 15.0 + 10.0 * window_s + 1.0,
                "{count} calls within {window_s:.3}s"
            );
        }
    }
}

/// The two connections' calls together: some 5 s window holds more than one
/// budget allows (15 + 10·5 + 1), so the budgets are not shared.
fn assert_budgets_not_shared(sim: &SimHandle, a: &str, b: &str) {
    let mut times: Vec<i64> = [a, b]
        .iter()
        .flat_map(|account| calls_to(sim, account, "/v1/stages"))
        .map(|c| c.at_ms)
        .collect();
    times.sort_unstable();
    let most = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + 5_000)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        most > 66,
        "{most} calls in the busiest 5 s: budgets are shared"
    );
}

async fn run_200(client: &LeverClient) {
    let workers = (0..20).map(|_| async {
        for _ in 0..10 {
            client.list_stages().await.unwrap();
        }
    });
    join_all(workers).await;
}

#[actix_rt::test]
async fn the_limiter_keeps_each_connection_within_lever_budget() {
    let sim = start_sim().await;
    let a = connect(&sim, "LimitA", ClientOptions::default()).await;
    let b = connect(&sim, "LimitB", ClientOptions::default()).await;
    futures_util::join!(run_200(&a.client), run_200(&b.client));
    assert_within_budget(&sim, &a.account);
    assert_within_budget(&sim, &b.account);
    assert_budgets_not_shared(&sim, &a.account, &b.account);
}
