//! One `AccountSupervisor` per connected Lever account. It owns nothing the
//! database does not also hold: on every wake-up (and on a timer) it claims
//! the account's due work, routes stage changes to its link generator and
//! completions/cancellations to its tag updater (at most
//! `per_account_concurrency` at once), settles each unit's outcome and pauses
//! the account with backoff when Lever as a whole fails.
//!
//! Work is claimed per candidate, in Postgres (`db::models::claim`): the
//! statement that selects due work claims each unit's candidate under the
//! lease, and a candidate with a live claim is not due, here or on any
//! other instance. So overlapping deliveries, a cancel during a link step or
//! a replay during a completion run one after the other, each from a fresh
//! read, and end with exactly one link, tag and note
//! (docs/contract/lever-calls.md). Every Lever write first extends its
//! unit's claim (`context::AccountCtx::begin`), and settling a unit deletes
//! the claim.
//!
//! It also runs the account's sweep when one is due (periodic, after
//! (re)connect, or asked for), behind the hot path (`sweeping`).
//!
//! Idle, it costs nothing: the registry writes the heartbeats of all its
//! supervisors in one statement, and its refresher keeps idle tokens fresh
//! (`super::refresh`). A supervisor writes its own health row only after a
//! restart (the count) and on stop. While units run it renews their claims
//! every third of a lease's duration, one statement for all of them.
//!
//! It never awaits a worker in a handler: it `send`s a unit and handles the
//! reply in a spawned future. A [`Drain`] stops it claiming and answers
//! once its units in flight have settled.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use uuid::Uuid;

use super::context::AccountCtx;
use super::context::UnitClaim;
use super::hooks::Hooks;
use super::messages::{GenerateLink, UnitId, UpdateTags, Wake};
use super::outcome::{Outcome, SettleRules};
use super::sweeping::{self, HotPath};
use super::workers::{LinkGenerator, TagUpdater};
use crate::config::PipelineSettings;
use crate::db::models::claim;
use crate::db::models::health_record;
use crate::db::models::interview::steps;
use crate::db::models::work::{self as store, Settle};
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::status::JobKind;

/// How often a poll asks whether the account's sweep is due.
const SWEEP_CHECK_EVERY: Duration = Duration::from_secs(1);
/// `last_success_at` is shown to the second: written at most this often.
const SUCCESS_EVERY: Duration = Duration::from_secs(1);

pub struct AccountSupervisor {
    ctx: AccountCtx,
    settings: PipelineSettings,
    hooks: Hooks,
    instance: String,
    link: Option<Addr<LinkGenerator>>,
    tags: Option<Addr<TagUpdater>>,
    /// Units running now, with the claim each one holds.
    in_flight: HashMap<Uuid, UnitClaim>,
    /// Told to drain: nothing new is claimed; these wait for the last unit.
    drained: Vec<tokio::sync::oneshot::Sender<()>>,
    /// No unit is claimed before this (a lease taken from an instance that
    /// took no claims: a write of its may still land).
    hold_off_until: Option<chrono::DateTime<Utc>>,
    /// `in_flight`'s size, for a sweep waiting its turn.
    hot: Arc<HotPath>,
    /// A sweep of the account runs now.
    sweeping: bool,
    /// When a poll last asked whether a sweep is due (at most every
    /// [`SWEEP_CHECK_EVERY`]: busy accounts poll far more often than that).
    sweep_checked: Option<std::time::Instant>,
    /// A poll is running; another wake-up sets `poll_again`.
    polling: bool,
    poll_again: bool,
    paused_until: Option<std::time::Instant>,
    pause: Duration,
    next_poll: Option<SpawnHandle>,
    /// Told to stop or drain: no new work is claimed.
    stopping: bool,
    restarts: i32,
    /// Counts this supervisor among its registry's live ones while it exists.
    live: Option<LiveGuard>,
    /// When a settle last wrote `last_success_at`; and whether an error was
    /// recorded since (the next success must then clear `throttled_until`).
    success_written: Option<std::time::Instant>,
    error_since: bool,
}

impl AccountSupervisor {
    /// `restarts`: how often this account's supervisor or its workers were
    /// restarted before (kept by the registry across supervisor restarts).
    pub fn new(
        ctx: AccountCtx,
        settings: PipelineSettings,
        hooks: Hooks,
        instance: String,
        restarts: i32,
        hold_off_until: Option<chrono::DateTime<Utc>>,
    ) -> Self {
        Self {
            ctx,
            settings,
            hooks,
            instance,
            link: None,
            tags: None,
            in_flight: HashMap::new(),
            drained: Vec::new(),
            hold_off_until,
            hot: Arc::default(),
            sweeping: false,
            sweep_checked: None,
            polling: false,
            poll_again: false,
            paused_until: None,
            pause: Duration::from_secs(1),
            next_poll: None,
            stopping: false,
            restarts,
            live: None,
            success_written: None,
            error_since: false,
        }
    }

    /// Counts the supervisor in `live` for as long as it exists (a registry's
    /// watchdog waits for a dead registry's supervisors to be gone).
    pub fn counted_in(mut self, live: Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::AcqRel);
        self.live = Some(LiveGuard(live));
        self
    }

    /// Renews the claims of the units in flight, so they last as long as
    /// they run (one statement; none while idle).
    fn renew_claims(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight.is_empty() {
            return;
        }
        let keys: Vec<String> = self.in_flight.values().map(|c| c.key.clone()).collect();
        let (db, id, owner, epoch, hold) = (
            self.ctx.db.clone(),
            self.ctx.id.0,
            self.ctx.lease.owner().to_owned(),
            self.ctx.lease.epoch(),
            self.ctx.claim_hold,
        );
        let fut = async move {
            db.run(move |c| {
                let lease = claim::LeaseRef {
                    connection_id: id,
                    owner: &owner,
                    epoch,
                };
                Ok(claim::renew(c, lease, &keys, hold)?)
            })
            .await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, _| {
            if let Err(e) = res {
                tracing::warn!(connection_id = %act.ctx.id, error = %Chain(&e), "renewing claims failed");
            }
        }));
    }

    /// Whether this settle writes the account's health: always for errors;
    /// for a success at most once per [`SUCCESS_EVERY`] (concurrent settles
    /// of one account would otherwise queue on its one health row), and at
    /// once after an error.
    fn health_due(&mut self, outcome: &Outcome) -> bool {
        match outcome {
            Outcome::Done => {
                let now = std::time::Instant::now();
                let due = self.error_since
                    || self
                        .success_written
                        .is_none_or(|t| now.duration_since(t) >= SUCCESS_EVERY);
                if due {
                    self.success_written = Some(now);
                    self.error_since = false;
                }
                due
            }
            Outcome::AccountPaused { .. } | Outcome::JobFailed(_) | Outcome::Panicked(_) => {
                self.error_since = true;
                true
            }
            Outcome::Ignored(_)
            | Outcome::NotYet
            | Outcome::Fenced
            | Outcome::Abandoned(_)
            | Outcome::Hidden(_) => false,
        }
    }

    fn paused(&self) -> bool {
        self.paused_until
            .is_some_and(|t| t > std::time::Instant::now())
    }

    /// Claims due work and hands it out (one poll at a time).
    fn poll(&mut self, ctx: &mut Context<Self>) {
        if self.paused() || self.stopping {
            return;
        }
        if let Some(until) = self.hold_off_until {
            let wait = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if !wait.is_zero() {
                self.schedule_poll(wait, ctx);
                return;
            }
            self.hold_off_until = None;
        }
        if self.polling {
            self.poll_again = true;
            return;
        }
        let room = self
            .settings
            .per_account_concurrency
            .saturating_sub(self.in_flight.len()) as i64;
        if room == 0 {
            return;
        }
        self.polling = true;
        let db = self.ctx.db.clone();
        let (id, owner, epoch) = (
            self.ctx.id.0,
            self.ctx.lease.owner().to_owned(),
            self.ctx.lease.epoch(),
        );
        let hold = self.ctx.claim_hold;
        let check_sweep = self
            .sweep_checked
            .is_none_or(|t| t.elapsed() >= SWEEP_CHECK_EVERY);
        if check_sweep {
            self.sweep_checked = Some(std::time::Instant::now());
        }
        let fut = async move {
            db.run(move |c| {
                let lease = claim::LeaseRef {
                    connection_id: id,
                    owner: &owner,
                    epoch,
                };
                if check_sweep {
                    // Links past their time become expire jobs, claimed below.
                    for iv in steps::take_due_expiries(c, id)? {
                        crate::db::models::job::add(c, ConnectionId(id), iv, JobKind::Expire)?;
                    }
                }
                let events = claim::claim_events(c, lease, hold, room)?;
                let jobs = claim::claim_jobs(c, lease, hold, room - events.len() as i64)?;
                // With every slot taken, the poll after the next unit ends
                // looks again: no need to know when more comes due.
                let full = (events.len() + jobs.len()) as i64 >= room;
                let next = match full {
                    true => None,
                    false => claim::next_due_at(c, id)?,
                };
                let (sweep, expiry) = match check_sweep {
                    true => (
                        crate::db::models::sweep::due_at(c, id)?,
                        steps::next_expiry(c, id)?,
                    ),
                    false => (None, None),
                };
                Ok((events, jobs, next, sweep, expiry))
            })
            .await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.polling = false;
            match res {
                Ok((events, jobs, next, sweep, expiry)) => {
                    // The next expiry wakes the account like due work.
                    act.dispatch(events, jobs, earliest(next, earliest(sweep, expiry)), ctx);
                    if sweep.is_some_and(|at| at <= Utc::now()) {
                        act.sweep(ctx);
                    }
                }
                Err(e) => {
                    tracing::warn!(connection_id = %act.ctx.id, error = %Chain(&e), "polling for work failed");
                    act.schedule_poll(Duration::from_secs(1), ctx);
                }
            }
            if std::mem::take(&mut act.poll_again) {
                act.poll(ctx);
            }
        }));
    }

    /// Sends each claimed unit to its worker; its reply settles it.
    fn dispatch(
        &mut self,
        events: Vec<store::EventWork>,
        jobs: Vec<store::JobWork>,
        next: Option<chrono::DateTime<Utc>>,
        ctx: &mut Context<Self>,
    ) {
        let (Some(link), Some(tags)) = (self.link.clone(), self.tags.clone()) else {
            return;
        };
        for event in events {
            let unit = UnitId::Event(event.id);
            let claim = UnitClaim {
                key: claim::claim_key(event.opportunity_id.as_deref(), event.id.0),
                unit: event.id.0,
            };
            if !self.start(unit, &claim) {
                continue;
            }
            let attempts = event.attempts;
            let sent = link.send(GenerateLink { event, claim });
            self.await_unit(unit, attempts, sent, ctx);
        }
        for job in jobs {
            let unit = UnitId::Job(job.id);
            let claim = UnitClaim {
                key: job.opportunity_id.clone(),
                unit: job.id.0,
            };
            if !self.start(unit, &claim) {
                continue;
            }
            let attempts = job.attempts;
            let sent = tags.send(UpdateTags { job, claim });
            self.await_unit(unit, attempts, sent, ctx);
        }
        // Sleep until the earliest future attempt (a wake-up may come sooner).
        if let Some(at) = next {
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            self.schedule_poll(wait.max(Duration::from_millis(50)), ctx);
        }
    }

    /// Records a claimed unit as in flight; false if it already runs here
    /// (its claim was taken again after running out: it is not started twice).
    fn start(&mut self, unit: UnitId, claim: &UnitClaim) -> bool {
        if self.in_flight.contains_key(&unit.uuid()) {
            return false;
        }
        self.in_flight.insert(unit.uuid(), claim.clone());
        self.hot.set(self.in_flight.len());
        true
    }

    /// Settles a unit once its worker answers (a worker that died answers
    /// nothing: the unit retries like one that panicked).
    fn await_unit(
        &mut self,
        unit: UnitId,
        attempts: i32,
        sent: impl std::future::Future<Output = Result<Outcome, MailboxError>> + 'static,
        ctx: &mut Context<Self>,
    ) {
        ctx.spawn(sent.into_actor(self).map(move |answer, act, ctx| {
            let outcome = answer.unwrap_or_else(|e| {
                Outcome::Panicked(format!("internal error: its worker did not answer ({e})"))
            });
            act.settle(unit, attempts, outcome, ctx);
        }));
    }

    fn release(&mut self, unit: Uuid) {
        self.in_flight.remove(&unit);
        self.hot.set(self.in_flight.len());
        if self.in_flight.is_empty() {
            for waiting in self.drained.drain(..) {
                let _ = waiting.send(());
            }
        }
    }

    /// Runs the account's due sweep (one at a time), behind the hot path.
    /// What it finds is recorded as events: poll for them when it ends.
    fn sweep(&mut self, ctx: &mut Context<Self>) {
        if self.sweeping || self.stopping {
            return;
        }
        self.sweeping = true;
        let (account, hot) = (self.ctx.clone(), self.hot.clone());
        let interval = self.ctx.sweep_interval;
        let fut = async move { sweeping::run_if_due(&account, interval, hot).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.sweeping = false;
            match res {
                Ok(Some(o)) if !o.found.is_empty() || !o.archived.is_empty() => {
                    tracing::info!(connection_id = %act.ctx.id, found = o.found.len(), archived = o.archived.len(), "the sweep found what Lever did not deliver");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(connection_id = %act.ctx.id, error = %Chain(&e), "sweep failed; it is retried");
                }
            }
            // Its findings are work, and its next time (the next period,
            // or a failed sweep's retry) is to be slept until: poll now,
            // asking again when the sweep is due.
            act.sweep_checked = None;
            act.poll(ctx);
        }));
    }

    fn schedule_poll(&mut self, after: Duration, ctx: &mut Context<Self>) {
        if let Some(h) = self.next_poll.take() {
            ctx.cancel_future(h);
        }
        self.next_poll = Some(ctx.run_later(after, |act, ctx| {
            act.next_poll = None;
            act.poll(ctx);
        }));
    }

    /// Stores how a unit ended and deletes its claim, under the lease's
    /// fencing check.
    fn settle(&mut self, unit: UnitId, attempts: i32, outcome: Outcome, ctx: &mut Context<Self>) {
        if matches!(outcome, Outcome::Fenced) {
            // The lease moved on, or the account stops: whoever works it
            // next carries on once the claim runs out.
            self.release(unit.uuid());
            return;
        }
        if let Outcome::Panicked(why) = &outcome {
            tracing::error!(connection_id = %self.ctx.id, unit_id = %unit, panic = %why, "a unit of work panicked; it will be retried");
            self.restarts += 1;
            self.record_restart();
        }
        let now = Utc::now();
        let rules = SettleRules {
            settings: &self.settings,
            pause: self.pause,
        };
        let Some(settle) = outcome.plan(attempts, now, &rules) else {
            self.release(unit.uuid());
            return;
        };
        let throttled_until = now + chrono::Duration::from_std(self.pause).unwrap_or_default();
        self.account_state(&outcome, ctx);
        super::metrics::unit(unit.label(), settle.label());
        let account = self.ctx.clone();
        let id = self.ctx.id.0;
        let claim = self.in_flight.get(&unit.uuid()).cloned();
        let health = self.health_due(&outcome).then(|| outcome.clone());
        let fut = async move {
            let (owner, epoch) = (account.lease.owner().to_owned(), account.lease.epoch());
            account
                .write(move |c| {
                    match unit {
                        UnitId::Event(id) => {
                            store::settle_event(c, id, &settle)?;
                            if matches!(settle, Settle::Dead { .. }) {
                                store::fail_event_interview(c, id)?;
                            }
                        }
                        UnitId::Job(id) => {
                            store::settle_job(c, id, &settle)?;
                        }
                    }
                    if let Some(claim) = &claim {
                        let lease = claim::LeaseRef {
                            connection_id: id,
                            owner: &owner,
                            epoch,
                        };
                        claim::release(c, lease, &claim.key, claim.unit)?;
                    }
                    match &health {
                        Some(o) => record_health(c, id, o, throttled_until),
                        None => Ok(()),
                    }
                })
                .await
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            if let Err(e) = res {
                tracing::warn!(connection_id = %act.ctx.id, error = ?e, "settling a unit failed");
            }
            act.release(unit.uuid());
            act.poll(ctx);
        }));
    }

    /// Pauses the account on Lever-wide failures (with doubling backoff),
    /// resumes it on success.
    fn account_state(&mut self, outcome: &Outcome, ctx: &mut Context<Self>) {
        match outcome {
            Outcome::AccountPaused { reauth: true, .. } => {
                // Work resumes when an admin reconnects (which wakes us).
                self.paused_until = None;
            }
            Outcome::AccountPaused { .. } => {
                let until = std::time::Instant::now() + self.pause;
                if !self.paused() {
                    self.paused_until = Some(until);
                    let pause = self.pause;
                    self.schedule_poll(pause, ctx);
                    self.pause = (self.pause * 2).min(self.settings.account_pause_max);
                }
            }
            Outcome::Done | Outcome::Ignored(_) => self.pause = Duration::from_secs(1),
            Outcome::JobFailed(_)
            | Outcome::NotYet
            | Outcome::Fenced
            | Outcome::Abandoned(_)
            | Outcome::Hidden(_)
            | Outcome::Panicked(_) => {}
        }
    }

    /// Records a restart's count (the registry's batched heartbeat keeps
    /// the count as it is).
    fn record_restart(&self) {
        let db = self.ctx.db.clone();
        let id = self.ctx.id.0;
        let instance = self.instance.clone();
        let restarts = self.restarts;
        actix::spawn(async move {
            let beat = db
                .run(move |c| Ok(health_record::heartbeat(c, id, &instance, true, restarts)?))
                .await;
            if let Err(e) = beat {
                tracing::warn!(connection_id = %id, error = %Chain(&e), "recording a restart failed");
            }
        });
    }
}

/// The earlier of two optional times.
fn earliest(
    a: Option<chrono::DateTime<Utc>>,
    b: Option<chrono::DateTime<Utc>>,
) -> Option<chrono::DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn record_health(
    c: &mut diesel::PgConnection,
    id: Uuid,
    outcome: &Outcome,
    throttled_until: chrono::DateTime<Utc>,
) -> diesel::QueryResult<()> {
    match outcome {
        Outcome::Done => {
            health_record::success(c, id)?;
        }
        Outcome::AccountPaused {
            error,
            reauth: false,
        } => {
            health_record::error(c, id, error, Some(throttled_until))?;
        }
        Outcome::AccountPaused {
            error,
            reauth: true,
        } => {
            crate::db::models::connection::Connection::mark_needs_reauth(c, id, error)?;
        }
        Outcome::JobFailed(error) | Outcome::Panicked(error) => {
            health_record::error(c, id, error, None)?
        }
        Outcome::Ignored(_)
        | Outcome::NotYet
        | Outcome::Fenced
        | Outcome::Abandoned(_)
        | Outcome::Hidden(_) => {}
    }
    Ok(())
}

impl Actor for AccountSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The account's stop token ends the supervisor (its units end too).
        let stop = self.ctx.stop.clone();
        ctx.spawn(
            async move { stop.cancelled().await }
                .into_actor(self)
                .map(|(), _, ctx| ctx.stop()),
        );
        let renew = self.ctx.claim_hold / 3;
        ctx.run_interval(renew.max(Duration::from_millis(100)), |act, ctx| {
            act.renew_claims(ctx)
        });
        let (n, hooks) = (self.settings.per_account_concurrency, self.hooks.clone());
        self.link = Some(LinkGenerator::new(self.ctx.clone(), n, hooks.clone()).start());
        self.tags = Some(TagUpdater::new(self.ctx.clone(), n, hooks).start());
        if self.restarts > 0 {
            self.record_restart();
        }
        // No poll here: the lease cycle that started this supervisor wakes
        // it at once if it has work (or a sweep) due, and again whenever
        // some comes due. 10,000 accounts taken together (a restart) polling
        // at once kept every database connection busy for seconds.
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // Units still in flight end at once (the lease is lost or the grace
        // ran out); their claims keep others away until they run out.
        self.ctx.stop.cancel();
        self.record_stopped();
    }
}

impl AccountSupervisor {
    fn record_stopped(&self) {
        let db = self.ctx.db.clone();
        let id = self.ctx.id.0;
        let instance = self.instance.clone();
        let restarts = self.restarts;
        actix::spawn(async move {
            let _ = db
                .run(move |c| Ok(health_record::heartbeat(c, id, &instance, false, restarts)?))
                .await;
        });
    }
}

/// Stop claiming work for this account (the lease is given up, the
/// instance stops, the account was disconnected). Answers once the units in
/// flight have settled; the registry then stops the supervisor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for AccountSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        if let Some(h) = self.next_poll.take() {
            ctx.cancel_future(h);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.in_flight.is_empty() {
            let _ = tx.send(());
        } else {
            self.drained.push(tx);
        }
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<Wake> for AccountSupervisor {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        self.poll(ctx);
    }
}

/// Counts one live supervisor; uncounts it when the supervisor is dropped.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
