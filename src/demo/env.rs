//! The demo's running pieces: the Lever simulator and the service, both on
//! free ports of 127.0.0.1 in this process, on the current actix System.
//! The database is given (the CLI starts its own embedded cluster; tests
//! pass one of theirs), already migrated.

use actix_web::dev::ServerHandle;
use anyhow::Context;
use secrecy::SecretString;

use super::api::Http;
use crate::config::Settings;
use crate::domain::secrets::EncryptionKey;
use crate::lever::sim::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, LeverSim, SimConfig, SimHandle};
use crate::server::Application;

/// Where the demo keeps its data: a migrated database and the key that
/// seals the Lever tokens stored in it.
#[derive(Clone)]
pub struct Database {
    pub url: SecretString,
    pub key: EncryptionKey,
}

/// The simulator and the service, running.
pub struct DemoEnv {
    /// The in-process simulator; the demo itself only uses its HTTP control
    /// API, tests may read its state directly to check the demo's report.
    pub sim: SimHandle,
    server: ServerHandle,
    /// `http://127.0.0.1:PORT` of the service.
    pub service_url: String,
    /// `http://127.0.0.1:PORT` of the simulator.
    pub sim_url: String,
    admin_token: String,
    pub http: Http,
}

impl DemoEnv {
    /// Starts the simulator (default rate limits) and the service pointed at it.
    pub async fn start(db: &Database) -> anyhow::Result<Self> {
        let sim = LeverSim::start(SimConfig::default())
            .await
            .context("starting the Lever simulator")?;
        let admin_token = format!("demo-admin-{}", uuid::Uuid::new_v4().simple());
        let settings = settings(db, &sim, &admin_token)?;
        let app = Application::build(settings).context("starting the service")?;
        let service_url = app.urls().public.clone();
        let server = app.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(Self {
            sim_url: sim.base_url().to_owned(),
            sim,
            server: handle,
            service_url,
            admin_token,
            http: Http::new(),
        })
    }

    /// The service's super-admin token (it only creates the demo org).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// `{service}/api/v1{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.service_url)
    }

    /// `{sim}/_sim{path}`.
    pub fn control(&self, path: &str) -> String {
        format!("{}/_sim{path}", self.sim_url)
    }

    /// Stops the service (letting requests in flight finish) and the simulator.
    pub async fn stop(&self) {
        self.server.stop(true).await;
        self.sim.stop().await;
    }
}

/// Defaults everywhere (so the limits are the production ones), except what
/// must point at this machine. Nothing is read from the environment: the demo
/// needs no configuration and must not pick up a real `DATABASE_URL`.
fn settings(db: &Database, sim: &SimHandle, admin_token: &str) -> anyhow::Result<Settings> {
    let mut s = Settings::from_lookup(|_| None).context("default settings")?;
    s.database_url = Some(db.url.clone());
    s.encryption_key = Some(db.key.clone());
    s.admin_token = Some(SecretString::from(admin_token.to_owned()));
    s.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    s.lever.client_id = Some(DEFAULT_CLIENT_ID.to_owned());
    s.lever.client_secret = Some(SecretString::from(DEFAULT_CLIENT_SECRET));
    s.lever.auth_url = sim.auth_url();
    s.lever.api_url = sim.api_url();
    Ok(s)
}
