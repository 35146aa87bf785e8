//! Shared helpers for the Lever client/simulator tests: start a simulator,
//! run the OAuth dance against it, build a client, poll with a deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arkiter_lever::lever::sim::{LeverSim, SimConfig, SimHandle};
use arkiter_lever::lever::{
    HttpSettings, InMemoryTokenSource, LeverClient, LeverClientConfig, OAuthConfig, RetryPolicy,
    TokenGrant, new_limiter, oauth,
};
use secrecy::SecretString;

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/lever/callback";

pub async fn start_sim() -> SimHandle {
    start_sim_with(SimConfig {
        workers: 1,
        delivery_retry_base: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await
}

pub async fn start_sim_with(config: SimConfig) -> SimHandle {
    LeverSim::start(config).await.expect("simulator starts")
}

pub fn oauth_config(sim: &SimHandle) -> OAuthConfig {
    OAuthConfig {
        client_id: arkiter_lever::lever::sim::DEFAULT_CLIENT_ID.to_owned(),
        client_secret: SecretString::from(arkiter_lever::lever::sim::DEFAULT_CLIENT_SECRET),
        auth_url: sim.auth_url(),
        api_url: sim.api_url(),
        redirect_uri: REDIRECT_URI.to_owned(),
        scopes: arkiter_lever::lever::SCOPES.to_owned(),
    }
}

pub fn http_for(sim: &SimHandle, request_timeout: Duration) -> Arc<HttpSettings> {
    HttpSettings::new(
        Duration::from_secs(2),
        request_timeout,
        sim.cert_pem().map(str::as_bytes),
    )
    .expect("http settings")
}

/// Fast retries so tests do not wait long; generous attempt count.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        max_total: Duration::from_secs(20),
    }
}

/// Follows `/authorize` (without following the redirect to our callback)
/// and returns the callback's query pairs.
pub async fn authorize(sim: &SimHandle, cfg: &OAuthConfig, state: &str) -> Vec<(String, String)> {
    let url = cfg.authorize_url(state).unwrap();
    let tls = arkiter_lever::lever::http::tls_config(sim.cert_pem().map(str::as_bytes)).unwrap();
    let client = awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(tls))
        .disable_redirects()
        .finish();
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302, "authorize redirects");
    let location = resp.headers().get("location").unwrap().to_str().unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A connected account: what the app would hold for one Lever connection.
pub struct Connected {
    pub account: String,
    pub grant: TokenGrant,
    pub tokens: Arc<InMemoryTokenSource>,
    pub client: LeverClient,
    /// Refresh tokens handed to the "store" by the rotation callback.
    pub rotations: Arc<Mutex<Vec<String>>>,
}

pub struct ClientOptions {
    pub rate_per_sec: u32,
    pub burst: u32,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub perform_as: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            rate_per_sec: 10,
            burst: 15,
            request_timeout: Duration::from_secs(5),
            retry: fast_retry(),
            perform_as: None,
        }
    }
}

/// Creates an account (logged in for /authorize), authorises, exchanges the
/// code and builds the client.
pub async fn connect(sim: &SimHandle, name: &str, opts: ClientOptions) -> Connected {
    let account = sim.create_account(name);
    sim.login(&account).unwrap();
    connect_account(sim, &account, opts).await
}

pub async fn connect_account(sim: &SimHandle, account: &str, opts: ClientOptions) -> Connected {
    use secrecy::ExposeSecret as _;
    sim.login(account).unwrap();
    let cfg = oauth_config(sim);
    let pairs = authorize(sim, &cfg, "state-1").await;
    assert_eq!(param(&pairs, "state"), Some("state-1"));
    let code = param(&pairs, "code").expect("a code").to_owned();
    let http = http_for(sim, opts.request_timeout);
    let grant = oauth::exchange_code(&http, &cfg, &code, "state-1")
        .await
        .unwrap();
    let rotations = Arc::new(Mutex::new(Vec::new()));
    let store = rotations.clone();
    let tokens = Arc::new(InMemoryTokenSource::new(
        http.clone(),
        cfg,
        &grant,
        Some(Arc::new(move |g: &TokenGrant| {
            let token = g
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned());
            store.lock().unwrap().push(token.unwrap_or_default());
        })),
    ));
    let client = LeverClient::new(
        LeverClientConfig {
            api_url: sim.api_url(),
            retry: opts.retry,
            perform_as: opts.perform_as,
            http,
            observer: None,
            fence: None,
            recorder: None,
        },
        new_limiter(opts.rate_per_sec, opts.burst).unwrap(),
        tokens.clone(),
    );
    Connected {
        account: account.to_owned(),
        grant,
        tokens,
        client,
        rotations,
    }
}

/// Seeds a stage, a posting and one opportunity in it; returns their ids.
pub fn seed_basic(sim: &SimHandle, account: &str) -> (String, String, String) {
    use arkiter_lever::lever::sim::NewOpportunity;
    let stage = sim.add_stage(account, "Arkiter Live").unwrap().id;
    let posting = sim.add_posting(account, "Backend Engineer").unwrap().id;
    let opp = sim
        .add_opportunity(
            account,
            NewOpportunity {
                stage_id: stage.clone(),
                posting_id: Some(posting.clone()),
                ..NewOpportunity::default()
            },
        )
        .unwrap()
        .id;
    (stage, posting, opp)
}
