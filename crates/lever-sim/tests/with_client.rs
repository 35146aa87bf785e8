//! The simulator alone, as another project would use it: the `lever-api`
//! client connects through the simulator's OAuth over HTTPS (consent,
//! code, PKCE token exchange), reads and writes the Data API, and the
//! handle sees what it wrote. The service's own tests (`tests/api/`) cover
//! the simulator's every route against docs/contract/lever-facts.md.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use lever_api::{
    HttpSettings, InMemoryTokenSource, LeverClient, LeverClientConfig, OAuthConfig, RetryPolicy,
    new_limiter, oauth,
};
use lever_sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, LeverSim, NewOpportunity, SimConfig};
use secrecy::SecretString;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

#[actix_rt::test]
async fn a_client_connects_through_oauth_and_tags_an_opportunity() {
    let sim = LeverSim::start(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let account = sim.create_account("Acme");
    sim.login(&account).unwrap();
    let stage = sim.add_stage(&account, "Arkiter Live").unwrap();
    let seeded = NewOpportunity {
        stage_id: stage.id.clone(),
        ..NewOpportunity::default()
    };
    let opportunity = sim.add_opportunity(&account, seeded).unwrap().id;

    let trusted = sim.cert_pem().map(str::as_bytes);
    let http = HttpSettings::new(Duration::from_secs(2), Duration::from_secs(5), trusted).unwrap();
    let cfg = OAuthConfig {
        client_id: DEFAULT_CLIENT_ID.to_owned(),
        client_secret: SecretString::from(DEFAULT_CLIENT_SECRET),
        auth_url: sim.auth_url(),
        api_url: sim.api_url(),
        redirect_uri: REDIRECT_URI.to_owned(),
        scopes: lever_api::SCOPES.to_owned(),
    };
    // The logged-in account consents at once: a redirect to our callback.
    let consent = awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(lever_api::http::tls_config(trusted).unwrap()))
        .disable_redirects()
        .finish()
        .get(cfg.authorize_url("state-1").unwrap())
        .send()
        .await
        .unwrap();
    let location = consent.headers().get("location").unwrap().to_str().unwrap();
    let callback = url::Url::parse(location).unwrap();
    let code = callback
        .query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, code)| code.into_owned())
        .expect("the callback carries a code");
    let grant = oauth::exchange_code(&http, &cfg, &code, "state-1")
        .await
        .unwrap();

    let tokens = Arc::new(InMemoryTokenSource::new(http.clone(), cfg, &grant, None));
    let config = LeverClientConfig {
        api_url: sim.api_url(),
        retry: RetryPolicy::default(),
        perform_as: None,
        http,
        observer: None,
        fence: None,
        recorder: None,
    };
    let client = LeverClient::new(config, new_limiter(10, 10).unwrap(), tokens);
    let stages = client.list_stages().await.unwrap();
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].text, "Arkiter Live");
    let read = client.get_opportunity(&opportunity).await.unwrap();
    assert_eq!(read.stage.as_ref().map(|s| s.id()), Some(stage.id.as_str()));
    client
        .add_tags(&opportunity, &["arkiter-live".to_owned()])
        .await
        .unwrap();

    let view = sim.opportunity(&account, &opportunity).unwrap();
    assert_eq!(view.tags, ["arkiter-live"]);
    let paths: Vec<String> = sim
        .calls_for(&account)
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("/addTags")), "{paths:?}");
    sim.stop().await;
}
