//! What every request shares: the settings, the pools, the secrets, the
//! wake-up channel, the public URLs, every connection's Lever handle and the
//! pipeline's pulse. Built once by `server::Application::build` and handed to
//! both front doors (the HTTP API and the console) and, through them, to the
//! application functions of `service`.

use std::sync::Arc;

use crate::config::Settings;
use crate::connections::Handles;
use crate::db::Pool;
use crate::domain::secrets::SecretBox;
use crate::ingest::Ingest;
use crate::pipeline::hooks::Hooks;
use crate::pipeline::registry::RegistryPulse;
use crate::wake::Wake;

/// Shared state of every request handler.
pub struct AppState {
    pub settings: Arc<Settings>,
    /// Admin API and workers.
    pub db: Pool,
    /// Webhook ingest, on a pool of its own.
    pub ingest: Ingest,
    pub secrets: SecretBox,
    pub wake: Wake,
    pub urls: Urls,
    /// Every connection's Lever handle (limiter + token store).
    pub handles: Arc<Handles>,
    /// The pipeline registry's last lease cycle, for `/readyz`.
    pub pulse: Arc<RegistryPulse>,
    /// Test hooks ([`Hooks::none`] in production).
    pub hooks: Hooks,
    /// The alert sender's wake-up and the address resolver.
    pub alerts: crate::alerts::Alerts,
}

/// Public URLs the service hands out, resolved once from the settings.
#[derive(Debug, Clone)]
pub struct Urls {
    pub public: String,
    pub live: String,
    pub results: String,
}

impl Urls {
    /// The URLs of a service bound to `bound`: the settings' own, or
    /// derived from the bound address.
    pub fn resolve(settings: &Settings, bound: std::net::SocketAddr) -> Self {
        let public = settings.public_url.clone().unwrap_or_else(|| {
            // An unspecified listen address is not something a browser can reach.
            let host = if bound.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                bound.ip().to_string()
            };
            format!("http://{host}:{}", bound.port())
        });
        Self {
            live: settings
                .live_url
                .clone()
                .unwrap_or_else(|| format!("{public}/live")),
            results: settings
                .results_url
                .clone()
                .unwrap_or_else(|| format!("{public}/results")),
            public,
        }
    }

    /// Where Lever delivers a connection's webhooks.
    pub fn webhook(&self, connection: uuid::Uuid) -> String {
        format!("{}/webhooks/lever/{connection}", self.public)
    }
}
