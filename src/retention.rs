//! Retention (docs/contract/retention.md): old rows are deleted so that
//! nothing grows without bound, `ARKITER_RETENTION_DAYS` after they stopped
//! mattering.
//!
//! A pass runs every [`EVERY`] on one instance at a time (a session-level
//! advisory lock on a connection of its own, so it never takes a pool slot
//! from requests or workers) and deletes in batches of [`BATCH`] rows, each
//! its own short transaction, pausing between them: ingest only inserts new
//! rows, so it never waits on these deletes, and the pauses leave it the
//! disk. What goes, and when:
//! - finished events (`done`, `ignored`, with their payloads), finished jobs,
//!   health counters, per-candidate Lever call records, alert sends and
//!   sent notifications, dead instance rows,
//!   expired console sessions and OAuth states and stale claims: older than
//!   the setting;
//! - `dead` events and jobs: [`DEAD_KEPT_DAYS`] (an admin may replay them
//!   until then; a replayed one is no longer dead);
//! - webhooks deleted more than [`WEBHOOK_TOKENS_KEPT_DAYS`] ago, with their
//!   signature tokens (Lever retries and reruns a delivery for 15 days).
//!
//! Interviews and their results are never deleted here. Deduplication holds
//! because the setting is at least [`crate::config::MIN_RETENTION_DAYS`]:
//! a delivery is always older than Lever's 15-day Rerun window before its
//! row, which deduplicates it, can go.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use secrecy::{ExposeSecret, SecretString};

use crate::db::models::lever_event::prune::{self, Old};
use crate::db::models::{
    alert, alert_history, claim, connection, console_session, health_record, job, lease,
    lever_call, oauth_state, org::Org,
};
use crate::domain::status::JobStatus;

/// How often a pass runs (on whichever instance gets the lock).
pub const EVERY: Duration = Duration::from_secs(3600);
/// The first pass after a start: late enough not to weigh on it.
const FIRST_AFTER: Duration = Duration::from_secs(60);
/// Rows per delete statement. Small: the first change to an old page after
/// a checkpoint writes the whole page to the WAL, and a delivery's commit
/// waits for whatever WAL is ahead of its own, so each batch's WAL should
/// be a short burst (docs/BENCHMARKS.md, P1 sustained).
pub const BATCH: i64 = 200;
/// A pass pauses this many times as long as each batch took.
const PAUSE_PER_BATCH_TIME: u32 = 4;
/// How long `dead` events and jobs are kept.
pub const DEAD_KEPT_DAYS: i64 = 90;
/// How long a deleted webhook's signature token is kept.
pub const WEBHOOK_TOKENS_KEPT_DAYS: i64 = 16;
/// Longest a delete statement may run (a batch takes milliseconds).
const STATEMENT_TIMEOUT_MS: u32 = 60_000;
/// Arbitrary constant naming "arkiter-lever retention" among advisory locks.
pub const LOCK_KEY: i64 = 0x4152_4b4c_5245_544e;

/// Rows one pass deleted, per kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub events: usize,
    pub dead_events: usize,
    pub jobs: usize,
    pub dead_jobs: usize,
    pub counters: usize,
    pub instances: usize,
    pub console_sessions: usize,
    pub oauth_states: usize,
    pub claims: usize,
    pub webhooks: usize,
    pub calls: usize,
    pub alerts: usize,
}

impl Pruned {
    pub fn total(&self) -> usize {
        self.events
            + self.dead_events
            + self.jobs
            + self.dead_jobs
            + self.counters
            + self.instances
            + self.console_sessions
            + self.oauth_states
            + self.claims
            + self.webhooks
            + self.calls
            + self.alerts
    }
}

static DELETED: std::sync::LazyLock<Option<prometheus::IntCounter>> =
    std::sync::LazyLock::new(|| {
        prometheus::register_int_counter!(
            "arkiter_retention_deleted_total",
            "Rows deleted by retention passes"
        )
        .ok()
    });

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// One pass on `c`, keeping `days` days; `None` when another instance's
/// pass holds the lock.
pub fn pass(c: &mut PgConnection, days: u32) -> QueryResult<Option<Pruned>> {
    let locked: Locked =
        diesel::sql_query(format!("SELECT pg_try_advisory_lock({LOCK_KEY}) AS locked"))
            .get_result(c)?;
    if !locked.locked {
        return Ok(None);
    }
    let result = prune_all(c, days);
    diesel::sql_query(format!("SELECT pg_advisory_unlock({LOCK_KEY})")).execute(c)?;
    result.map(Some)
}

fn prune_all(c: &mut PgConnection, days: u32) -> QueryResult<Pruned> {
    let now: DateTime<Utc> =
        diesel::select(diesel::dsl::now.into_sql::<diesel::sql_types::Timestamptz>())
            .get_result(c)?;
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let dead_cutoff = now - chrono::Duration::days(DEAD_KEPT_DAYS);
    let webhook_cutoff = now - chrono::Duration::days(WEBHOOK_TOKENS_KEPT_DAYS);
    let mut p = Pruned::default();
    for org in Org::ids(c)? {
        p.events += drain(c, |c| prune::old(c, org, Old::Finished, cutoff, BATCH))?;
        p.dead_events += drain(c, |c| prune::old(c, org, Old::Dead, dead_cutoff, BATCH))?;
    }
    p.jobs = drain(c, |c| job::prune(c, JobStatus::Done, cutoff, BATCH))?;
    p.dead_jobs = drain(c, |c| job::prune(c, JobStatus::Dead, dead_cutoff, BATCH))?;
    p.counters = drain(c, |c| health_record::prune_counters(c, cutoff, BATCH))?;
    p.instances = drain(c, |c| lease::prune_instances(c, cutoff, BATCH))?;
    p.console_sessions = drain(c, |c| console_session::prune(c, cutoff, BATCH))?;
    p.oauth_states = drain(c, |c| oauth_state::prune(c, cutoff, BATCH))?;
    p.claims = drain(c, |c| claim::prune_stale(c, cutoff, BATCH))?;
    p.calls = drain(c, |c| lever_call::prune(c, cutoff, BATCH))?;
    p.alerts = drain(c, |c| alert::prune(c, cutoff, BATCH))?;
    p.alerts += drain(c, |c| alert_history::prune(c, cutoff, BATCH))?;
    p.webhooks = drain(c, |c| {
        connection::prune_deleted_webhooks(c, webhook_cutoff, BATCH)
    })?;
    Ok(p)
}

/// Repeats one batch delete until a batch comes back short; rows deleted.
/// After each batch it pauses [`PAUSE_PER_BATCH_TIME`] times as long as the
/// batch took, so a pass leaves the disk and the WAL to ingest most of the
/// time: deleting a million rows at full speed took 23 s and raised the
/// ack p99 of deliveries arriving meanwhile from 213 ms to 842 ms
/// (docs/BENCHMARKS.md, P1 sustained).
fn drain(
    c: &mut PgConnection,
    mut batch: impl FnMut(&mut PgConnection) -> QueryResult<usize>,
) -> QueryResult<usize> {
    let mut total = 0;
    loop {
        let started = std::time::Instant::now();
        let n = batch(c)?;
        if n > 0 {
            std::thread::sleep(started.elapsed() * PAUSE_PER_BATCH_TIME);
        }
        total += n;
        if let Some(m) = DELETED.as_ref() {
            m.inc_by(n as u64);
        }
        if i64::try_from(n).unwrap_or(i64::MAX) < BATCH {
            return Ok(total);
        }
    }
}

/// Runs a pass every [`EVERY`] for as long as the process lives, each on a
/// connection of its own.
pub fn spawn(database_url: SecretString, days: u32) {
    actix_rt::spawn(async move {
        let mut next = FIRST_AFTER;
        loop {
            actix_rt::time::sleep(next).await;
            next = EVERY;
            let url = database_url.clone();
            let ran = tokio::task::spawn_blocking(move || run_once(&url, days)).await;
            match ran {
                Ok(Ok(Some(p))) => tracing::info!(deleted = p.total(), ?p, "retention pass done"),
                Ok(Ok(None)) => {
                    tracing::debug!("retention pass skipped: another instance runs one")
                }
                Ok(Err(e)) => tracing::warn!(
                    error = format!("{e:#}"),
                    "retention pass failed; trying again at the next one"
                ),
                Err(e) => tracing::warn!(error = %e, "retention pass panicked"),
            }
        }
    });
}

/// One pass on a connection of its own to `url`, set up as every pass runs;
/// `None` when another instance's pass holds the lock.
pub fn run_once(url: &SecretString, days: u32) -> anyhow::Result<Option<Pruned>> {
    let mut c = PgConnection::establish(url.expose_secret())?;
    diesel::sql_query(format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}")).execute(&mut c)?;
    // A delete need not wait for its WAL to reach the disk: one lost in a
    // crash is done again by the next pass. Commits that do not wait leave
    // the disk's flushes to deliveries, whose acknowledgement waits on them.
    diesel::sql_query("SET synchronous_commit = off").execute(&mut c)?;
    Ok(pass(&mut c, days)?)
}
