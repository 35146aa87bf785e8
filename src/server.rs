//! `Application::build`: from settings to a bound HTTP server with its state
//! and the pipeline running beside it. The composition root: the one place
//! that knows every floor (it wires the front doors to the state the
//! application functions and the machinery share). Tests bind port 0 and
//! read the port back.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware::from_fn, web};
use anyhow::Context;
use secrecy::SecretString;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::connections::{Handles, LeverEnv};
use crate::db::Pool;
use crate::domain::secrets::SecretBox;
use crate::ingest::Ingest;
use crate::pipeline::Registry;
use crate::pipeline::hooks::Hooks;
use crate::pipeline::refresh::Refresher;
use crate::pipeline::registry::StopRegistry;
use crate::pipeline::registry::{RegistryParts, RegistryPulse};
use crate::roster::Roster;
use crate::state::{AppState, Urls};
use crate::wake::Wake;
use crate::{console, http};

/// SIGTERM (an orchestrator's stop) or SIGINT (Ctrl-C).
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the service");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A built, bound, not yet running service.
pub struct Application {
    pulse: Arc<RegistryPulse>,
    port: u16,
    server: Server,
    urls: Urls,
    registry: actix::Addr<Registry>,
    roster: Arc<Roster>,
}

impl Application {
    /// Binds `settings.listen` (port 0 allowed) and builds the server. The
    /// database URL and encryption key must already be resolved in `settings`.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_hooks(settings, Hooks::none())
    }

    /// [`Self::build`] with test hooks in the pipeline.
    pub fn build_with_hooks(settings: Settings, hooks: Hooks) -> anyhow::Result<Self> {
        let database_url: SecretString = settings
            .database_url
            .clone()
            .context("DATABASE_URL is not resolved")?;
        let key = settings
            .encryption_key
            .clone()
            .context("ARKITER_ENCRYPTION_KEY is not resolved")?;
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("ARKITER_LISTEN: cannot listen on {}", settings.listen))?;
        let bound = listener.local_addr()?;
        let urls = Urls::resolve(&settings, bound);
        if settings.insecure_public_url_for_production(&urls.public) {
            tracing::warn!(
                public_url = %urls.public,
                "ARKITER_PUBLIC_URL is not HTTPS: production Lever only delivers webhooks to HTTPS URLs with a CA-signed certificate"
            );
        }
        let db = Pool::new(&database_url, settings.pools.main);
        let ingest_db = Pool::new(&database_url, settings.pools.ingest);
        let lease_db = Pool::new(&database_url, settings.pools.lease);
        let (wake, wake_rx) = Wake::channel();
        let roster = Roster::new();
        roster.spawn_reloader(db.clone());
        crate::wake::spawn_listener(
            database_url.clone(),
            wake.clone(),
            roster.clone(),
            crate::ingest::forget,
        );
        crate::retention::spawn(database_url.clone(), settings.retention_days);
        let secrets = SecretBox::new(&key);
        let env = LeverEnv::new(&settings.lever, &urls.public)?;
        let handles = Arc::new(Handles::new(env, db.clone(), secrets.clone()));
        let pulse = RegistryPulse::new(settings.instance.renew_every);
        let refresher = Arc::new(Refresher::new(
            handles.clone(),
            settings.pipeline.refresh_concurrency,
        ));
        let write_lands_within = crate::lever::write_lands_within(&handles.env().http);
        let grace = settings.shutdown_grace;
        let registry = Registry::launch(
            RegistryParts {
                db: db.clone(),
                lease_db,
                handles: handles.clone(),
                settings: settings.pipeline.clone(),
                hooks: hooks.clone(),
                instance: settings.instance.clone(),
                live_base: urls.live.clone(),
                results_base: urls.results.clone(),
                public_url: urls.public.clone(),
                secrets: secrets.clone(),
                sweep_interval: settings.sweep_interval,
                pulse: pulse.clone(),
                shutdown_grace: grace,
                write_lands_within,
                refresher,
                calls: crate::pipeline::call_records::CallRecords::start(db.clone()),
            },
            wake_rx,
            wake.local(),
        );
        let alerts = crate::alerts::Alerts::start(
            db.clone(),
            secrets.clone(),
            settings.alerts,
            hooks
                .resolver()
                .unwrap_or_else(crate::alerts::address::system_resolver),
            settings.instance.id.clone(),
        );
        let state = web::Data::new(AppState {
            alerts,
            settings: Arc::new(settings),
            db,
            ingest: Ingest::start(ingest_db, secrets.clone(), wake.clone(), roster.clone())
                .context("starting the ingest writers")?,
            wake,
            secrets,
            urls: urls.clone(),
            handles,
            pulse: pulse.clone(),
            hooks,
        });
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let blocking_threads = state.settings.pools.blocking_threads();
        // One per service, not per worker: failed console sign-ins are
        // counted across all of them.
        let sign_in_throttle = web::Data::new(console::throttle::SignInThrottle::new());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(sign_in_throttle.clone())
                .wrap(from_fn(http::limits::guard))
                .wrap(from_fn(http::secure_headers::secret_pages))
                .wrap(from_fn(http::metrics::track))
                .wrap(TracingLogger::<http::access_log::SafeRootSpan>::new())
                .configure(http::routes)
                .configure(console::config)
                .default_service(web::to(http::fallback::unknown_route))
        })
        // Signals are this application's to handle (see `run_until_stopped`):
        // the pipeline drains before the server stops taking requests.
        .disable_signals()
        .shutdown_timeout(grace.as_secs())
        // Slow or stalled clients: bounded head and body times
        // (see http::limits) and a connection cap under the descriptor limit.
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads)
        .client_request_timeout(http::limits::HEAD_DEADLINE)
        .client_disconnect_timeout(http::limits::DISCONNECT_DEADLINE)
        .max_connections(http::limits::connections_per_worker(workers))
        .backlog(4096)
        .listen(listener)?
        .run();
        Ok(Self {
            pulse,
            port: bound.port(),
            server,
            urls,
            registry,
            roster,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// The ids of every connection, as this instance knows them (a test that
    /// writes a connection row directly adds it, as the connect flow does).
    pub fn roster(&self) -> Arc<Roster> {
        self.roster.clone()
    }

    /// The pipeline registry this application started.
    pub fn registry(&self) -> actix::Addr<Registry> {
        self.registry.clone()
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully: `/readyz`
    /// answers 503 at once and the pipeline claims nothing more; units in
    /// flight may finish within `ARKITER_SHUTDOWN_GRACE` while the leases
    /// are still renewed; then the leases are released and the HTTP server
    /// finishes the requests it has, within what is left of the grace.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let server = actix_rt::spawn(self.server);
        stop_signal().await;
        tracing::info!("stopping: draining the work in flight");
        self.pulse.stopping();
        let started = std::time::Instant::now();
        let _ = self.registry.send(StopRegistry).await;
        tracing::info!(
            drained_in_ms = started.elapsed().as_millis() as u64,
            "pipeline drained; leases released"
        );
        handle.stop(true).await;
        server.await.unwrap_or(Ok(()))
    }

    pub fn into_server(self) -> Server {
        self.server
    }
}
