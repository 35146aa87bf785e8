//! The logs of a whole flow (connect, moves, completion) hold no access or
//! refresh token, signature token, API key, candidate name or email, OAuth
//! code or state (reconnecting, and a replayed callback), nor the live and
//! results tokens of the links (their pages opened, a mistyped one too).

use arkiter_lever::domain::secrets::{EncryptionKey, SecretBox};
use arkiter_lever::lever::sim::{DEFAULT_CLIENT_SECRET, SimHandle};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{TestApp, count_is, test_db};
use crate::lever_flow::{Scenario, scenario, wait_for_tag};
use crate::lever_support::start_sim;
use crate::support::child::{ServiceChild, env_for_sim};

#[derive(diesel::QueryableByName)]
struct Tokens {
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    access_token_enc: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    refresh_token_enc: Vec<u8>,
}

#[actix_web::test]
async fn a_full_flow_logs_no_secret_or_personal_data() {
    let sim = start_sim().await;
    let db = test_db();
    let name = db.create_database();
    let url = db.url(&name);
    let enc = EncryptionKey::generate();
    let mut env = env_for_sim(&sim, &url, "log-test-admin-token", &enc);
    env.push(("RUST_LOG", "debug".to_owned()));
    let mut child = ServiceChild::start(&env).await;
    child.wait_ready().await;
    let base = child.address();
    let app = TestApp::attached(&base, "log-test-admin-token", &name, &url, enc.clone());
    let s = scenario(&app, &sim).await;
    let opps = s.candidates(&sim, 3);
    s.move_to(&sim, &opps, &s.stage);
    wait_for_tag(&sim, &s.account, &opps, "Arkiter Live: Link Created", 30).await;
    let ivs = app
        .wait_for_interviews(s.who(), "?status=link_posted", "link_posted", count_is(3))
        .await;
    for iv in &ivs {
        let id = iv["id"].as_str().unwrap();
        app.post_json(
            &format!("/api/v1/orgs/{}/interviews/{id}/complete", s.org),
            Some(&s.key),
            &json!({"score": 1}),
        )
        .await;
    }
    wait_for_tag(&sim, &s.account, &opps, "Arkiter Live: Completed", 30).await;
    let mut url_secrets = open_links(&app, &s.org, &s.key).await;
    url_secrets.extend(reconnect(&app, &s.org, &s.key).await);
    child.kill();
    let logs = child.log_text();
    assert!(
        logs.contains("interview link posted") && logs.contains("results posted"),
        "{logs}"
    );
    let mut secrets = known_secrets(&app, &sim, &s, &enc, "log-test-admin-token", 3);
    secrets.extend(url_secrets);
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the logs contain a secret or personal datum ({} chars)",
            secret.len()
        );
    }
}

/// What no log line or exported span may hold: the connection's access
/// and refresh tokens, the admin token, the org's API key (and its secret
/// part), Lever's client secret, every webhook signature token, and the
/// names and emails of the scenario's first `candidates` candidates.
pub fn known_secrets(
    app: &TestApp,
    sim: &SimHandle,
    s: &Scenario,
    enc: &EncryptionKey,
    admin: &str,
    candidates: usize,
) -> Vec<String> {
    let tokens: Tokens =
        diesel::sql_query("SELECT access_token_enc, refresh_token_enc FROM connections")
            .get_result(&mut app.db())
            .unwrap();
    let sb = SecretBox::new(enc);
    let mut secrets = vec![
        sb.open(&tokens.access_token_enc).unwrap(),
        sb.open(&tokens.refresh_token_enc).unwrap(),
        admin.to_owned(),
        s.key.clone(),
        s.key.rsplit('_').next().unwrap().to_owned(),
        DEFAULT_CLIENT_SECRET.to_owned(),
    ];
    for hook in sim.webhooks(&s.account).unwrap() {
        secrets.extend(hook.signature_token);
    }
    for i in 0..candidates {
        secrets.push(format!("Candidate {i}"));
        secrets.push(format!("c{i}@example.com"));
    }
    secrets
}

/// The last path segment of a link: its token.
fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

/// Opens every interview's live and results pages (and the platform's lookup
/// and a mistyped link); returns the tokens used.
async fn open_links(app: &TestApp, org: &str, key: &str) -> Vec<String> {
    let r = app
        .get(&format!("/api/v1/orgs/{org}/interviews"), Some(key))
        .await;
    let mut tokens = Vec::new();
    for iv in r.body["items"].as_array().unwrap() {
        for field in ["live_url", "results_url"] {
            if let Some(url) = iv[field].as_str() {
                tokens.push(token_of(url));
            }
        }
    }
    assert!(tokens.len() >= 6, "{}", r.body);
    for t in &tokens {
        app.get(&format!("/live/{t}?x=1"), None).await;
        app.get(&format!("/results/{t}"), None).await;
        app.get(&format!("/api/v1/live/{t}"), Some(&app.admin()))
            .await;
    }
    let typo = format!("{}typo", tokens[0]);
    app.get(&format!("/live/{typo}/extra"), None).await;
    tokens.push(typo);
    tokens
}

/// Connects again (a new state and code), then replays the used callback;
/// returns the state and code.
async fn reconnect(app: &TestApp, org: &str, key: &str) -> Vec<String> {
    let start = app.start_connect(org, key, json!({})).await;
    assert_eq!(start.status, 200, "{}", start.body);
    let location = app
        .authorize(start.body["authorize_url"].as_str().unwrap())
        .await;
    let query: Vec<(String, String)> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let done = app.callback(&location).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let again = app.callback(&location).await;
    assert_eq!(again.status, 400, "{}", again.body);
    vec![get("code"), get("state")]
}
