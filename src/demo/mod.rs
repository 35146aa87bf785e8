//! `arkiter-lever demo`: the whole product on one machine, nothing to
//! configure. Its own embedded PostgreSQL (temporary unless `--data-dir`),
//! the service and the Lever simulator in this process on free ports, at the
//! default rate limits; then a scenario driven only through public paths
//! (our HTTP API, the simulator's `/_sim/` control API, and the signed
//! webhooks the simulator sends), so it proves what a deployment does:
//!
//! 1. seed a Lever account, create an org with three roles (by title, by
//!    posting id, fallback) and connect it through the real OAuth flow
//!    ([`setup`]);
//! 2. move every candidate into the "Arkiter Live" stage and complete about
//!    half of the interviews as their links appear ([`watch`]);
//! 3. read back what Lever shows and check every candidate ([`report`],
//!    [`check`]), print one table ([`table`]).
//!
//! Tests call [`DemoEnv::start`] with a database of theirs and
//! [`run_scenario`]; the CLI calls [`run`].

mod api;
mod check;
mod env;
mod fake;
mod progress;
mod report;
mod setup;
mod table;
mod tryout;
mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use secrecy::SecretString;

pub use api::{Answer, Http};
pub use env::{Database, DemoEnv};
pub use progress::ProgressMode;
pub use report::{Latency, Report, Row};
pub use setup::{Candidate, LIVE_STAGE, Lever, Org};
pub use tryout::{Tour, Tryout};
pub use watch::Interview;

use crate::config::LogFormat;
use crate::db::embedded::EmbeddedPostgres;
use crate::db::migrate;
use crate::domain::secrets::EncryptionKey;

/// What to run.
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    pub candidates: usize,
    /// Seed one more candidate, left out of the run, for the tour to move.
    pub spare_candidate: bool,
    pub progress: ProgressMode,
}

/// Runs the scenario against a started [`DemoEnv`] and returns what Lever
/// shows; check [`Report::ok`]. Errors mean the demo could not run at all.
pub async fn run_scenario(env: &DemoEnv, opts: &ScenarioOptions) -> anyhow::Result<Report> {
    let mut progress = progress::Progress::new(opts.progress);
    let lever = setup::seed_lever(env, opts.candidates, opts.spare_candidate)
        .await
        .context("seeding the simulated Lever account")?;
    let org = setup::create_org(env, &lever).await?;
    setup::connect(env, &org)
        .await
        .context("connecting Lever through OAuth")?;
    // Not ready in time only makes the first links slower: go on regardless.
    setup::wait_until_running(env, &org, Duration::from_secs(10)).await?;
    let to_complete = lever.candidates.iter().filter(|c| c.complete).count();
    progress.say(&format!(
        "Set up org \"{}\" (3 roles) and a Lever account (3 postings, stage \"{LIVE_STAGE}\"), \
         connected through OAuth.\nMoving {} into \"{LIVE_STAGE}\"; completing {} as {} appear:",
        org.name,
        table::plural(lever.candidates.len(), "1 candidate", "{n} candidates"),
        table::plural(to_complete, "1 interview", "{n} interviews"),
        table::plural(lever.candidates.len(), "its link", "their links"),
    ));
    let watched = watch::run(env, &lever, &org, &mut progress, deadline(opts.candidates)).await?;
    report::collect(env, &lever, &org, &watched).await
}

/// Generous: only reached when something is stuck.
fn deadline(candidates: usize) -> Duration {
    Duration::from_secs(60) + Duration::from_millis(500) * u32::try_from(candidates).unwrap_or(0)
}

/// The printed report.
pub fn render(report: &Report) -> String {
    table::render(report)
}

/// The command: start the database, run the demo on an actix System, stop.
/// Fails (exit 1) with the reason when any candidate did not end right.
pub fn run(candidates: usize, keep_running: bool, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    if candidates == 0 {
        bail!("--candidates must be at least 1");
    }
    init_logging();
    let started = Instant::now();
    println!(
        "Arkiter Live for Lever: demo (PostgreSQL, the service and a Lever simulator, all here)"
    );
    let (mut pg, db) = start_database(data_dir.as_deref())?;
    let clock = Clock {
        started,
        database: started.elapsed(),
    };
    let result = actix_web::rt::System::new().block_on(demo(db, candidates, keep_running, clock));
    // Stopped here rather than on drop, so a failure to stop is reported.
    if let Err(e) = pg.stop() {
        eprintln!("warning: could not stop the embedded PostgreSQL: {e}");
    }
    result
}

/// When the command started, and how long the database took to start.
struct Clock {
    started: Instant,
    database: Duration,
}

/// Logs stay out of the way of the table: warnings only, unless RUST_LOG says otherwise.
fn init_logging() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "warn".to_owned());
    crate::telemetry::init(&filter, LogFormat::Pretty);
}

/// The demo's own cluster (never `DATABASE_URL`), migrated.
fn start_database(data_dir: Option<&Path>) -> anyhow::Result<(EmbeddedPostgres, Database)> {
    let (pg, key) = match data_dir {
        Some(dir) => (
            EmbeddedPostgres::start_persistent(dir)?,
            EncryptionKey::load_or_generate(dir)?,
        ),
        None => (
            EmbeddedPostgres::start_temporary()?,
            EncryptionKey::generate(),
        ),
    };
    let url = SecretString::from(pg.database_url("arkiter"));
    migrate::run_pending(&url).context("migrating the demo database")?;
    Ok((pg, Database { url, key }))
}

async fn demo(
    db: Database,
    candidates: usize,
    keep_running: bool,
    clock: Clock,
) -> anyhow::Result<()> {
    let env = DemoEnv::start(&db).await?;
    println!(
        "  service {}   Lever simulator {}",
        env.service_url, env.sim_url
    );
    let opts = ScenarioOptions {
        candidates,
        spare_candidate: keep_running,
        progress: ProgressMode::detect(),
    };
    // Ctrl-C mid-run still stops the service and the simulator below.
    let outcome = tokio::select! {
        r = run_scenario(&env, &opts) => r,
        _ = actix_rt::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    let verdict = match &outcome {
        Ok(report) => {
            print!("{}", render(report));
            println!(
                "Total {:.1} s, of which {:.1} s to start PostgreSQL.",
                clock.started.elapsed().as_secs_f64(),
                clock.database.as_secs_f64()
            );
            verdict(report)
        }
        Err(e) => Err(anyhow!("{e:#}")),
    };
    let mut waited = Ok(());
    if keep_running && let Ok(report) = &outcome {
        print!("{}", Tour::new(&env, report).render());
        waited = actix_rt::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C");
        println!("\nStopping.");
    }
    env.stop().await;
    waited?;
    verdict
}

fn verdict(report: &Report) -> anyhow::Result<()> {
    if report.ok() {
        return Ok(());
    }
    let first = report.failures.first().map_or("", String::as_str);
    Err(anyhow!(
        "{} thing(s) did not end right, first: {first}",
        report.failures.len()
    ))
}
