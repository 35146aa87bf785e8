//! An in-memory Lever for tests, the demo and benchmarks
//! (`arkiter-lever lever-sim --listen ADDR` runs it as a server).
//!
//! It speaks the wire format of docs/contract/lever-facts.md: OAuth (`/authorize`,
//! `/oauth/token`), the Data API under `/v1` (Bearer auth, a token bucket per
//! account, `{data}` envelopes, `{code,message}` errors), signed webhook
//! deliveries, and a control API under `/_sim/` to seed data, move
//! candidates, revoke, inject faults and read the call log. [`SimHandle`]
//! offers the same control operations to Rust tests. The results endpoints
//! (feedback templates and forms, files, posting tags) follow
//! docs/contract/lever-facts-results.md, strictly where Lever's behaviour
//! is unknown.
//!
//! The shapes it speaks are the `lever-api` crate's [`lever_api::wire`]
//! types (the results shapes, not yet in `lever-api`, are built in
//! `render`) and its deliveries are signed with [`lever_api::signature`], so the
//! simulator and the real client cannot drift apart.
//!
//! Start it in-process on port 0 from code running on an actix System:
//!
//! ```
//! use lever_sim::{LeverSim, NewOpportunity, SimConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! actix_rt::System::new().block_on(async {
//!     let sim = LeverSim::start(SimConfig::default()).await?;
//!     let account = sim.create_account("Acme");
//!     let stage = sim.add_stage(&account, "Arkiter Live")?;
//!     let new = NewOpportunity {
//!         stage_id: stage.id.clone(),
//!         ..NewOpportunity::default()
//!     };
//!     let opportunity = sim.add_opportunity(&account, new)?;
//!     // A client under test talks to sim.auth_url() (OAuth) and
//!     // sim.api_url() (the Data API); `/_sim/` under sim.base_url() is the
//!     // same control API over HTTP.
//!     assert_eq!(sim.opportunity(&account, &opportunity.id)?.stage, stage.id);
//!     sim.stop().await;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```

mod api;
mod control;
mod delivery;
mod exec;
mod faults;
mod feedback;
mod files;
mod handle;
mod inspect;
mod manage;
mod multipart;
mod oauth;
mod ops;
mod render;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use lever_api::http::HttpSettings;

pub use faults::{FaultAction, FaultRule};
pub use feedback::{NewFeedbackField, NewFeedbackTemplate};
pub use handle::SimHandle;
pub use manage::{
    AccountPatch, AccountView, NewOpportunity, OpportunityView, SeededGrant, SimError,
};
pub use state::{
    AuthorizeMode, CallRecord, DeliveryRecord, FEEDBACK_FIELD_TYPES, SimFeedbackField,
    SimFeedbackForm, SimFeedbackTemplate, SimFeedbackValue, SimFile, SimNote, SimOpportunity,
    SimPosting, SimStage, SimUser, SimWebhook,
};

/// A registered OAuth app. An empty `redirect_uris` accepts any URI.
#[derive(Debug, Clone)]
pub struct SimOAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

/// The default registered app's credentials.
pub const DEFAULT_CLIENT_ID: &str = "sim-client-id";
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret";

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Serve HTTPS with a throwaway self-signed certificate.
    pub tls: bool,
    pub workers: usize,
    /// Lever's bucket per account: refill per second and capacity.
    pub rate_per_sec: f64,
    pub rate_capacity: f64,
    pub access_token_ttl: Duration,
    pub oauth_clients: Vec<SimOAuthClient>,
    /// Answer `POST /webhooks` with `{data:{data:{..}}}` as Lever's doc
    /// shows (true) or with a single `{data:{..}}` (false).
    pub webhook_create_double_data: bool,
    /// Delivery attempts in all, and the first gap between them (doubling).
    pub delivery_attempts: u32,
    pub delivery_retry_base: Duration,
    pub delivery_timeout: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            workers: 2,
            rate_per_sec: 10.0,
            rate_capacity: 20.0,
            access_token_ttl: Duration::from_secs(3600),
            oauth_clients: vec![SimOAuthClient {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
                redirect_uris: Vec::new(),
            }],
            webhook_create_double_data: true,
            delivery_attempts: 5,
            delivery_retry_base: Duration::from_secs(2),
            delivery_timeout: Duration::from_secs(10),
        }
    }
}

/// Shared simulator state behind every handler and the handle.
pub(crate) struct Sim {
    pub(crate) config: SimConfig,
    state: Mutex<state::SimState>,
    base_url: OnceLock<String>,
    pub(crate) delivery_http: Arc<HttpSettings>,
}

impl Sim {
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::SimState> {
        // A panicking handler must not wedge the simulator for the rest of
        // a test run: keep using the data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn base_url(&self) -> &str {
        self.base_url.get().map(String::as_str).unwrap_or("")
    }

    pub(crate) fn api_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }
}

pub struct LeverSim;

impl LeverSim {
    /// Binds, spawns the server on the current actix System and returns
    /// once it accepts connections.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        let delivery_http = HttpSettings::new(
            Duration::from_secs(5).min(config.delivery_timeout),
            config.delivery_timeout,
            None,
        )
        .map_err(std::io::Error::other)?;
        let sim = Arc::new(Sim {
            config: config.clone(),
            state: Mutex::new(state::SimState::default()),
            base_url: OnceLock::new(),
            delivery_http,
        });
        let data = web::Data::from(sim.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                // OAuth and `/_sim` bodies; `/v1` reads its own up to
                // api::MAX_BODY (30 MB, for file uploads).
                .app_data(web::PayloadConfig::new(1024 * 1024))
                .configure(oauth::config)
                .configure(control::config)
                .configure(api::config)
        })
        .on_connect(exec::remember_socket)
        .workers(config.workers.max(1))
        .disable_signals()
        .shutdown_timeout(1);
        let (server, cert_pem) = if config.tls {
            let (tls_config, pem) = tls::throwaway_server_config()?;
            (
                server.bind_rustls_0_23(config.listen, tls_config)?,
                Some(pem),
            )
        } else {
            (server.bind(config.listen)?, None)
        };
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("the simulator bound no address"))?;
        let scheme = if config.tls { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let _ = sim.base_url.set(base_url.clone());
        let server = server.run();
        let server_handle = server.handle();
        actix_rt::spawn(server);
        Ok(SimHandle::new(sim, server_handle, base_url, cert_pem))
    }
}

/// Runs the simulator as a server until Ctrl-C (for `arkiter-lever
/// lever-sim`). Prints its base URL, the OAuth client to use and, with TLS,
/// where the throwaway certificate was written. Call it on an actix System.
pub async fn run_standalone(listen: SocketAddr, tls: bool) -> std::io::Result<()> {
    let sim = LeverSim::start(SimConfig {
        listen,
        tls,
        ..SimConfig::default()
    })
    .await?;
    println!("Lever simulator listening on {}", sim.base_url());
    println!("  LEVER_AUTH_URL={}", sim.auth_url());
    println!("  LEVER_API_URL={}", sim.api_url());
    println!("  LEVER_CLIENT_ID={DEFAULT_CLIENT_ID} LEVER_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}");
    println!("  control API: {}/_sim/", sim.base_url());
    if let Some(pem) = sim.cert_pem() {
        let path = std::env::temp_dir().join(format!("lever-sim-{}.pem", std::process::id()));
        std::fs::write(&path, pem)?;
        println!("  trust this certificate: {}", path.display());
    }
    actix_rt::signal::ctrl_c().await?;
    sim.stop().await;
    Ok(())
}
