//! One sweep of one connection against Lever (docs/contract/sweep.md), self-contained so the account supervisor only decides when:
//!
//! 1. list the opportunities now in each trigger stage, `GET /opportunities?stage_id=`,
//!    100 a page, following `next` (one call per 100 candidates and nothing
//!    else is read for them);
//! 2. take each one's current entry into the stage (its latest
//!    `stageChanges` entry into it) and record those handled neither by an
//!    interview for that entry nor by an open event (`db::models::lever_event::findings`); the
//!    pipeline then works them as deliveries;
//! 3. list the archives since the previous sweep and record those of
//!    candidates with an open interview (`super::reconcile`);
//! 4. check the account's webhooks (`GET /webhooks`): in managed mode a
//!    missing or disabled `candidateStageChange` webhook of ours is
//!    registered again, with the code connecting uses, its new signature
//!    token joining the kept ones (`webhook_repaired`); in manual mode a
//!    missing one is recorded (`webhook_missing`).
//!
//! Before each Lever call the sweep awaits the caller's `yield_now`: the
//! supervisor resolves it only when no webhook or completion unit waits, so
//! a sweep never delays the hot path by more than one call. Lever writes
//! (the repair) start only while `may_write` says the lease is ours, and
//! every database write is fenced by the lease epoch when a [`Fence`] is
//! given.
//!
//! Entry points: [`run_if_due`] (claim a due sweep, run it, record its
//! figures) and [`sweep`] (the work alone).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

pub use super::webhook::WebhookCheck;
use crate::db::models::connection::{Connection, webhooks};
use crate::db::models::lever_event::findings::{self as store, Candidate, Target};
use crate::db::models::sweep as schedule;
use crate::db::{DbError, Pool};
use crate::domain::ids::ConnectionId;
use crate::domain::secrets::SecretBox;
use crate::lever::{LeverClient, LeverError};

/// How a sweep that met a passing trouble (Lever throttling or down, the
/// network, the database, a lease move) is retried: soon, so that it runs
/// within seconds of Lever answering again.
pub const RETRY_TRANSIENT: schedule::Backoff = schedule::Backoff {
    first: Duration::from_secs(2),
    max: Duration::from_secs(15),
};
/// How a sweep that failed for a reason a person must fix (a revoked grant,
/// a refused call) is retried.
pub const RETRY_AFTER_FAILURE: schedule::Backoff = schedule::Backoff {
    first: Duration::from_secs(60),
    max: Duration::from_secs(300),
};

/// The lease a sweep's database writes are fenced by.
#[derive(Debug, Clone)]
pub struct Fence {
    pub owner: String,
    pub epoch: i64,
}

/// What a sweep works with: the connection's client (through its handle, so
/// its limiter and token store), the database, the key that seals signature
/// tokens, and the lease checks.
#[derive(Clone)]
pub struct SweepDeps {
    pub client: LeverClient,
    pub db: Pool,
    pub secrets: SecretBox,
    /// Checked right before a Lever write (the lease's in-memory view).
    pub may_write: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Checked inside each database write's transaction; `None`: unfenced.
    pub fence: Option<Fence>,
}

/// How long after a repair the sweep waits before registering the webhooks
/// again for a missing archive or hired one (Lever may refuse them over the
/// API: then a weekly try, not one every sweep).
pub const LIFECYCLE_WEBHOOK_RETRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The connection as a sweep needs it.
#[derive(Debug, Clone)]
pub struct SweepTarget {
    pub connection_id: Uuid,
    pub org_id: Uuid,
    /// The trigger stages' ids; empty: none known yet (needs setup),
    /// nothing to list.
    pub stage_ids: Vec<String>,
    /// Where Lever must deliver: `{ARKITER_PUBLIC_URL}/webhooks/lever/{id}`.
    pub webhook_url: String,
    /// Managed mode (we registered webhooks through the API) and their
    /// Lever ids, one per event; manual mode (an admin pasted a token)
    /// otherwise.
    pub managed: bool,
    pub lever_webhook_ids: Vec<String>,
    /// The grant holds confidential access: lists ask for every candidate
    /// (`confidentiality=all`), never without it.
    pub confidential: bool,
    /// `on_stage_exit` is `close`: candidates who left the stage since the
    /// previous sweep are recorded for the close unit.
    pub exits_close: bool,
    /// Managed, but without a live archive or hired webhook (a connection
    /// made before they were registered, or one Lever refused), and not
    /// repaired for [`LIFECYCLE_WEBHOOK_RETRY`]: the webhook check
    /// registers them all again.
    pub lacks_lifecycle_webhooks: bool,
    /// Lever ids of the webhooks whose signature tokens are stored (retired
    /// ones too): a webhook of ours at Lever that is not among them sends
    /// deliveries nobody can verify.
    pub known_lever_ids: Vec<String>,
}

impl SweepTarget {
    /// A list filter, plus `confidentiality=all` when the grant allows it.
    pub fn with_confidential(
        &self,
        mut filter: Vec<(&'static str, String)>,
    ) -> Vec<(&'static str, String)> {
        if self.confidential {
            filter.push(("confidentiality", "all".to_owned()));
        }
        filter
    }

    /// Reads the connection and its live webhooks; `None` for a connection
    /// that is not `active` (only active connections are swept).
    pub async fn load(
        db: &Pool,
        connection: ConnectionId,
        public_url: &str,
    ) -> Result<Option<SweepTarget>, DbError> {
        let id = connection.0;
        let webhook_url = format!("{}/webhooks/lever/{id}", public_url.trim_end_matches('/'));
        db.run(move |c| {
            let k = Connection::find(c, id)?;
            if k.status != crate::domain::status::ConnectionStatus::Active {
                return Ok(None);
            }
            let hooks = webhooks::live(c, id)?;
            let confidential = k.confidential_access();
            let lacks = [
                crate::lever::wire::events::CANDIDATE_ARCHIVE_CHANGE,
                crate::lever::wire::events::CANDIDATE_HIRED,
            ]
            .iter()
            .any(|e| !hooks.iter().any(|h| h.managed && h.event == *e));
            let repaired_at = crate::db::models::sweep::load(c, id)?.webhook_repaired_at;
            let retry_due = repaired_at.is_none_or(|at| {
                chrono::Utc::now() - at
                    > chrono::Duration::from_std(LIFECYCLE_WEBHOOK_RETRY).unwrap_or_default()
            });
            let ours: Vec<String> = hooks
                .iter()
                .filter(|h| h.managed)
                .filter_map(|h| h.lever_webhook_id.clone())
                .collect();
            Ok(Some(SweepTarget {
                connection_id: id,
                org_id: k.org_id,
                stage_ids: k.trigger_stage_ids(),
                webhook_url,
                managed: hooks.iter().any(|h| h.managed),
                lever_webhook_ids: ours,
                confidential,
                exits_close: k.on_stage_exit == crate::domain::status::LifecyclePolicy::Close,
                lacks_lifecycle_webhooks: hooks.iter().any(|h| h.managed) && lacks && retry_due,
                known_lever_ids: webhooks::known_lever_ids(c, id)?,
            }))
        })
        .await
    }
}

/// One sweep's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Opportunities in the stage now.
    pub listed: usize,
    /// Opportunities recorded as `sweep` events (Lever did not deliver them).
    pub found: Vec<String>,
    /// Archived and deleted candidates with an open interview, recorded as
    /// `sweep` events for the close and erase units.
    pub archived: Vec<String>,
    /// Candidates who left the stage since the previous sweep (only under
    /// `on_stage_exit: close`), recorded for the close unit.
    pub left: Vec<String>,
    pub webhook: WebhookCheck,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Lever(#[from] LeverError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The lease moved on: another instance owns the connection now.
    #[error("the connection's lease is no longer ours")]
    Fenced,
}

/// Claims a due sweep of `target` ([`schedule::begin`]), runs it and
/// records it: its figures and the next periodic sweep `interval` later
/// ([`schedule::finish`]), or, when it could not finish, the error and a
/// retry with backoff, the on-demand request kept ([`schedule::failed`]).
/// `Ok(None)`: none was due. The caller wakes the connection's workers when
/// the outcome found candidates.
pub async fn run_if_due<Y, F>(
    deps: &SweepDeps,
    target: &SweepTarget,
    interval: Option<Duration>,
    yield_now: Y,
) -> Result<Option<SweepOutcome>, SweepError>
where
    Y: FnMut() -> F,
    F: Future<Output = ()>,
{
    let id = target.connection_id;
    let Some(begun) = deps.db.run(move |c| Ok(schedule::begin(c, id)?)).await? else {
        return Ok(None);
    };
    let result = sweep(deps, target, yield_now).await;
    match &result {
        Ok(o) => {
            let found = i32::try_from(o.found.len()).unwrap_or(i32::MAX);
            deps.db
                .run(move |c| Ok(schedule::finish(c, id, found, interval)?))
                .await?;
        }
        Err(e) => {
            let (error, backoff) = (e.to_string(), retry_for(e));
            deps.db
                .run(move |c| Ok(schedule::failed(c, id, &begun, &error, backoff)?))
                .await?;
        }
    }
    super::metrics::sweep(&result);
    result.map(Some)
}

/// How soon a sweep that failed so is tried again.
fn retry_for(e: &SweepError) -> schedule::Backoff {
    match e {
        SweepError::Lever(e) if e.is_needs_reauth() => RETRY_AFTER_FAILURE,
        SweepError::Lever(e) if e.is_account_wide() || e.is_outcome_unknown() => RETRY_TRANSIENT,
        SweepError::Lever(_) => RETRY_AFTER_FAILURE,
        SweepError::Db(_) | SweepError::Fenced => RETRY_TRANSIENT,
    }
}

/// The sweep itself (see the module doc). Records findings and webhook
/// findings; the figures are the caller's ([`run_if_due`] does both).
pub async fn sweep<Y, F>(
    deps: &SweepDeps,
    target: &SweepTarget,
    mut yield_now: Y,
) -> Result<SweepOutcome, SweepError>
where
    Y: FnMut() -> F,
    F: Future<Output = ()>,
{
    let started = chrono::Utc::now();
    // Each trigger stage is listed in turn; who is in any of them now is
    // what the reconciliation of moves out compares with.
    let (mut listed, mut found, mut in_stages) = (0, Vec::new(), Vec::new());
    for stage in &target.stage_ids {
        let candidates = list_stage(deps, target, stage, &mut yield_now).await?;
        listed += candidates.len();
        in_stages.extend(candidates.iter().map(|c| c.opportunity_id.clone()));
        found.extend(record(deps, target, stage, candidates).await?);
    }
    let left = match target.stage_ids.first() {
        Some(first) => record_exits(deps, target, first, in_stages, started).await?,
        None => Vec::new(),
    };
    let archived = super::reconcile::lifecycle(deps, target, &mut yield_now).await?;
    yield_now().await;
    let webhook = super::webhook::check(deps, target).await?;
    Ok(SweepOutcome {
        listed,
        found,
        archived,
        left,
        webhook,
    })
}

/// Every opportunity in the stage with its current entry, one page a call.
async fn list_stage<Y, F>(
    deps: &SweepDeps,
    target: &SweepTarget,
    stage: &str,
    yield_now: &mut Y,
) -> Result<Vec<Candidate>, SweepError>
where
    Y: FnMut() -> F,
    F: Future<Output = ()>,
{
    let filter = target.with_confidential(vec![("stage_id", stage.to_owned())]);
    // One still listed in the stage whose entry time Lever does not give is
    // left to the next sweep rather than guessed.
    list_each(deps, &filter, yield_now, |o| {
        o.current_entry_at(stage).map(|entered_at| Candidate {
            opportunity_id: o.id.clone(),
            entered_at,
        })
    })
    .await
}

/// `GET /opportunities` with `filter`, 100 a page, following `next`; what
/// `keep` takes from each opportunity. A yield before each call.
pub(super) async fn list_each<Y, F, T>(
    deps: &SweepDeps,
    filter: &[(&'static str, String)],
    yield_now: &mut Y,
    mut keep: impl FnMut(&crate::lever::wire::Opportunity) -> Option<T>,
) -> Result<Vec<T>, SweepError>
where
    Y: FnMut() -> F,
    F: Future<Output = ()>,
{
    let mut offset: Option<String> = None;
    let mut out = Vec::new();
    loop {
        yield_now().await;
        let page = deps
            .client
            .list_opportunities_page(filter, offset.as_deref())
            .await?;
        offset = page.next_offset().map(str::to_owned);
        out.extend(page.data.iter().filter_map(&mut keep));
        if offset.is_none() {
            return Ok(out);
        }
    }
}

/// Runs `f` in one transaction, refused when the fence moved on.
pub(super) async fn fenced_write<T, W>(
    deps: &SweepDeps,
    connection_id: Uuid,
    f: W,
) -> Result<T, SweepError>
where
    T: Send + 'static,
    W: FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
{
    let fence = deps.fence.clone();
    deps.db
        .transaction(move |c| {
            if let Some(fence) = &fence
                && !crate::db::models::lease::still_held(
                    c,
                    connection_id,
                    &fence.owner,
                    fence.epoch,
                )?
            {
                return Err(SweepError::Fenced);
            }
            Ok(f(c).map_err(DbError::from)?)
        })
        .await
}

impl From<diesel::result::Error> for SweepError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

/// The marks of who is in a trigger stage now, and the exit findings since
/// the previous sweep ([`store::reconcile_exits`]); wakes the worker for
/// them. A finding names `stage` (the first trigger stage) as where the
/// candidate left from: its close unit reads Lever before it acts.
async fn record_exits(
    deps: &SweepDeps,
    target: &SweepTarget,
    stage: &str,
    in_stage: Vec<String>,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, SweepError> {
    let (id, org, stage, close) = (
        target.connection_id,
        target.org_id,
        stage.to_owned(),
        target.exits_close,
    );
    fenced_write(deps, id, move |c| {
        let target = Target {
            connection_id: id,
            org_id: org,
            stage_id: &stage,
        };
        let left = store::reconcile_exits(c, target, &in_stage, started, close)?;
        if !left.is_empty() {
            crate::db::notify::work_due(c, id)?;
        }
        Ok(left)
    })
    .await
}

async fn record(
    deps: &SweepDeps,
    target: &SweepTarget,
    stage: &str,
    candidates: Vec<Candidate>,
) -> Result<Vec<String>, SweepError> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let (id, org, stage) = (target.connection_id, target.org_id, stage.to_owned());
    let keyed: Vec<Candidate> = candidates
        .iter()
        .map(|c| Candidate {
            opportunity_id: deps.secrets.erased_key(id, &c.opportunity_id),
            entered_at: c.entered_at,
        })
        .collect();
    fenced_write(deps, id, move |c| {
        let target = Target {
            connection_id: id,
            org_id: org,
            stage_id: &stage,
        };
        // Candidates erased since they entered the stage stay erased: their
        // finding is stored without the id or anything else about them.
        let keys: Vec<String> = keyed.iter().map(|k| k.opportunity_id.clone()).collect();
        let erased: std::collections::HashMap<String, i64> =
            crate::db::models::erased::erased_among(c, id, &keys)?
                .into_iter()
                .map(|(k, at)| (k, at.timestamp_millis()))
                .collect();
        let (gone, live): (Vec<_>, Vec<_>) =
            candidates.into_iter().zip(keyed).partition(|(_, k)| {
                erased
                    .get(&k.opportunity_id)
                    .is_some_and(|at| k.entered_at <= *at)
            });
        let gone: Vec<Candidate> = gone.into_iter().map(|(_, k)| k).collect();
        let live: Vec<Candidate> = live.into_iter().map(|(c, _)| c).collect();
        store::record_erased_findings(c, target, &gone)?;
        let found = store::record_findings(c, target, &live)?;
        if !found.is_empty() {
            // Another instance may hold the account meanwhile: wake it too.
            crate::db::notify::work_due(c, id)?;
        }
        Ok(found)
    })
    .await
}
