//! The command line: `serve` (default), `migrate`, `demo`, `lever-sim`.
//! `main.rs` only parses and calls [`run`]; exit codes: 0 ok, 1 failure, 2 bad settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::config::Settings;
use crate::db::embedded::EmbeddedPostgres;
use crate::db::migrate;
use crate::domain::errors::Chain;
use crate::domain::secrets::EncryptionKey;
use crate::server::Application;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "arkiter-lever",
    version,
    about = "Arkiter Live for Lever: the hosted Lever integration"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Run the whole flow on this machine with nothing to configure.
    Demo {
        /// How many candidates to move into the stage.
        #[arg(long, default_value_t = 25)]
        candidates: usize,
        /// Keep serving after the demo and print URLs to try.
        #[arg(long)]
        keep_running: bool,
        /// Keep the demo's database here instead of a temporary one.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run the Lever simulator alone, for local development and load tests.
    LeverSim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Serve HTTPS with a throwaway self-signed certificate.
        #[arg(long)]
        tls: bool,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => with_settings(serve),
        Command::Migrate => with_settings(migrate_only),
        Command::Demo {
            candidates,
            keep_running,
            data_dir,
        } => match crate::demo::run(candidates, keep_running, data_dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::LeverSim { listen, tls } => lever_sim(listen, tls),
    }
}

/// Loads settings (exit 2 with one line naming the variable on error), sets up
/// logging, then runs `f`, turning its error into one line and exit 1.
fn with_settings(f: fn(Settings) -> anyhow::Result<()>) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let traces = match &settings.traces {
        None => {
            telemetry::init(&settings.log_filter, settings.log_format);
            None
        }
        Some(traces) => {
            match telemetry::init_with_traces(&settings.log_filter, settings.log_format, traces) {
                Ok(guard) => guard,
                Err(e) => {
                    eprintln!(
                        "error: OTEL_EXPORTER_OTLP_ENDPOINT: the trace exporter cannot start: {e:#}"
                    );
                    return ExitCode::from(2);
                }
            }
        }
    };
    let code = match f(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    // Flushes the last spans, outside the service's runtime.
    drop(traces);
    code
}

/// Fills in the database URL and encryption key; in embedded mode starts the
/// private cluster (returned so it lives, and stops, with the caller).
fn resolve_database(settings: &mut Settings) -> anyhow::Result<Option<EmbeddedPostgres>> {
    if settings.database_url.is_some() {
        return Ok(None);
    }
    let pg = EmbeddedPostgres::start_persistent(&settings.data_dir)?;
    settings.database_url = Some(SecretString::from(pg.database_url("arkiter")));
    if settings.encryption_key.is_none() {
        settings.encryption_key = Some(EncryptionKey::load_or_generate(&settings.data_dir)?);
    }
    Ok(Some(pg))
}

fn migrate_only(mut settings: Settings) -> anyhow::Result<()> {
    let _pg = resolve_database(&mut settings)?;
    let url = settings
        .database_url
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no database"))?;
    let applied = migrate::run_pending(url)?;
    tracing::info!(applied, "migrations are up to date");
    Ok(())
}

fn serve(mut settings: Settings) -> anyhow::Result<()> {
    // The embedded cluster is supervised (restarted if it dies) while the
    // server runs, and dropped (stopped) after the server has drained.
    let pg = resolve_database(&mut settings)?;
    let supervised = pg.map(crate::db::supervise_embedded).transpose()?;
    let url = settings
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no database"))?;
    let applied = migrate::run_pending(&url)?;
    tracing::info!(applied, "migrations are up to date");
    let instance = settings.instance.id.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(settings.pools.blocking_threads())
        .build()?;
    actix_web::rt::System::with_tokio_rt(move || runtime).block_on(async move {
        let id = settings.instance.id.clone();
        let app = Application::build(settings)?;
        tracing::info!(port = app.port(), public_url = %app.urls().public, instance = %id, "serving");
        app.run_until_stopped().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    let _pg = supervised.and_then(|s| s.stop());
    // Hand this instance's accounts to the others at once rather than after
    // their leases expire.
    release_leases(&url, &instance);
    tracing::info!("stopped");
    Ok(())
}

fn release_leases(url: &SecretString, instance: &str) {
    use diesel::Connection;
    let released = diesel::PgConnection::establish(secrecy::ExposeSecret::expose_secret(url))
        .map_err(anyhow::Error::from)
        .and_then(|mut c| Ok(crate::db::models::lease::release_all(&mut c, instance)?));
    if let Err(e) = released {
        tracing::warn!(error = %Chain(e.as_ref()), "could not release leases; they expire by themselves");
    }
}

fn lever_sim(listen: SocketAddr, tls: bool) -> ExitCode {
    telemetry::init("info", crate::config::LogFormat::Pretty);
    let result =
        actix_web::rt::System::new().block_on(crate::lever::sim::run_standalone(listen, tls));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
