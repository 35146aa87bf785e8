//! One `AccountSupervisor` per connected Lever account. It owns nothing the
//! database does not also hold: on every wake-up (and on a timer) it reads the
//! account's due work, routes stage changes to its link generator and
//! completions/cancellations to its tag updater (at most
//! `per_account_concurrency` at once), settles each unit's outcome and pauses
//! the account with backoff when Lever as a whole fails.
//!
//! Work is claimed per candidate, not per row: while one unit of an
//! opportunity runs (a link step, completion, cancel or replay), no other
//! unit of it is handed out, so overlapping deliveries, a cancel during a
//! link step or a replay during a completion run one after the other, each
//! from a fresh read, and end with exactly one link, tag and note (docs/contract/lever-calls.md).
//! Across instances the lease gives one owner, and every Lever write is
//! fenced by it (`context::AccountCtx::begin`).
//!
//! It also runs the account's sweep when one is due (periodic, after
//! (re)connect, or asked for), behind the hot path (`sweeping`).
//!
//! Idle, it costs nothing: the registry writes the heartbeats of all its
//! supervisors in one statement and finds, in one query, the accounts whose
//! token needs refreshing, which it tells with [`RefreshToken`]. A supervisor
//! writes its own health row only after a restart (the count) and on stop.
//!
//! It never awaits a worker: workers report with `do_send(Finished)`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use uuid::Uuid;

use super::context::AccountCtx;
use super::hooks::Hooks;
use super::messages::{Finished, GenerateLink, UnitId, UpdateTags, Wake};
use super::outcome::{Outcome, SettleRules};
use super::sweeping::{self, HotPath};
use super::workers::{LinkGenerator, TagUpdater};
use crate::config::PipelineSettings;
use crate::db::models::health_record;
use crate::db::models::work::{self as store, Settle};
use crate::domain::errors::Chain;

/// Tokens are refreshed when they have less than this left.
pub(crate) const REFRESH_AHEAD: chrono::Duration = chrono::Duration::minutes(10);
/// Idle refresh tokens die after 90 days unused: refresh at least daily.
pub(crate) const REFRESH_AT_LEAST_EVERY: chrono::Duration = chrono::Duration::hours(24);
/// How soon a completion waiting for its link step looks again.
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
    /// Units running now, with the opportunity each one claims.
    in_flight: HashMap<Uuid, String>,
    /// Opportunities with a unit running: nothing else of theirs starts.
    claimed: HashSet<String>,
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
    /// Told to stop (the account was disconnected): no new work is started.
    stopping: bool,
    restarts: i32,
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
    ) -> Self {
        Self {
            ctx,
            settings,
            hooks,
            instance,
            link: None,
            tags: None,
            in_flight: HashMap::new(),
            claimed: HashSet::new(),
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
            success_written: None,
            error_since: false,
        }
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
            Outcome::Ignored(_) | Outcome::NotYet | Outcome::Fenced | Outcome::Abandoned(_) => {
                false
            }
        }
    }

    fn paused(&self) -> bool {
        self.paused_until
            .is_some_and(|t| t > std::time::Instant::now())
    }

    /// Reads due work and hands it out (one poll at a time).
    fn poll(&mut self, ctx: &mut Context<Self>) {
        if self.paused() || self.stopping {
            return;
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
        let id = self.ctx.id.0;
        let check_sweep = self
            .sweep_checked
            .is_none_or(|t| t.elapsed() >= SWEEP_CHECK_EVERY);
        if check_sweep {
            self.sweep_checked = Some(std::time::Instant::now());
        }
        let skip = store::Claimed {
            units: self.in_flight.keys().copied().collect(),
            opportunities: self.claimed.iter().cloned().collect(),
        };
        let fut = async move {
            db.run(move |c| {
                let events = store::due_events(c, id, &skip, room)?;
                let jobs = store::due_jobs(c, id, &skip, room - events.len() as i64)?;
                let next = store::next_due_at(c, id)?;
                let sweep = match check_sweep {
                    true => crate::db::models::sweep::due_at(c, id)?,
                    false => None,
                };
                Ok((events, jobs, next, sweep))
            })
            .await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.polling = false;
            match res {
                Ok((events, jobs, next, sweep)) => {
                    act.dispatch(events, jobs, earliest(next, sweep), ctx);
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

    fn dispatch(
        &mut self,
        events: Vec<store::EventWork>,
        jobs: Vec<store::JobWork>,
        next: Option<chrono::DateTime<Utc>>,
        ctx: &mut Context<Self>,
    ) {
        // Events first: a link step claims its candidate before a completion
        // of the same candidate would find no link yet. A unit whose
        // candidate is claimed waits: the claim's settle polls again.
        let (Some(link), Some(tags)) = (self.link.clone(), self.tags.clone()) else {
            return;
        };
        for ev in events {
            if self.claim(ev.id.0, ev.opportunity_id.clone().unwrap_or_default()) {
                link.do_send(GenerateLink(ev));
            }
        }
        for job in jobs {
            if self.claim(job.id.0, job.opportunity_id.clone()) {
                tags.do_send(UpdateTags(job));
            }
        }
        // Sleep until the earliest future attempt (a wake-up may come sooner).
        if let Some(at) = next {
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            self.schedule_poll(wait.max(Duration::from_millis(50)), ctx);
        }
    }

    /// Claims `unit` and its opportunity; false if either is taken. (An
    /// event without an opportunity claims none: it is ignored at once.)
    fn claim(&mut self, unit: Uuid, opportunity: String) -> bool {
        if self.in_flight.contains_key(&unit)
            || (!opportunity.is_empty() && self.claimed.contains(&opportunity))
        {
            return false;
        }
        if !opportunity.is_empty() {
            self.claimed.insert(opportunity.clone());
        }
        self.in_flight.insert(unit, opportunity);
        self.hot.set(self.in_flight.len());
        true
    }

    fn release(&mut self, unit: Uuid) {
        if let Some(opp) = self.in_flight.remove(&unit) {
            self.claimed.remove(&opp);
        }
        self.hot.set(self.in_flight.len());
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
                Ok(Some(o)) if !o.found.is_empty() => {
                    tracing::info!(connection_id = %act.ctx.id, found = o.found.len(), "the sweep found candidates Lever did not deliver");
                    act.poll(ctx);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(connection_id = %act.ctx.id, error = %Chain(&e), "sweep failed");
                }
            }
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

    /// Stores how a unit ended (under the lease's fencing check).
    fn settle(&mut self, msg: Finished, ctx: &mut Context<Self>) {
        if matches!(msg.outcome, Outcome::Fenced) {
            // Another instance holds the account now; it carries on.
            self.release(msg.unit.uuid());
            return;
        }
        if let Outcome::Panicked(why) = &msg.outcome {
            tracing::error!(connection_id = %self.ctx.id, unit_id = %msg.unit, panic = %why, "a unit of work panicked; it will be retried");
            self.restarts += 1;
            self.record_restart();
        }
        let now = Utc::now();
        let rules = SettleRules {
            settings: &self.settings,
            pause: self.pause,
        };
        let Some(settle) = msg.outcome.plan(msg.attempts, now, &rules) else {
            return;
        };
        let throttled_until = now + chrono::Duration::from_std(self.pause).unwrap_or_default();
        self.account_state(&msg.outcome, ctx);
        super::metrics::unit(msg.unit.label(), settle.label());
        let account = self.ctx.clone();
        let id = self.ctx.id.0;
        let outcome = self.health_due(&msg.outcome).then(|| msg.outcome.clone());
        let fut = async move {
            account
                .write(move |c| {
                    match msg.unit {
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
                    match &outcome {
                        Some(o) => record_health(c, id, o, throttled_until),
                        None => Ok(()),
                    }
                })
                .await
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            if let Err(e) = res {
                tracing::warn!(connection_id = %act.ctx.id, error = ?e, "settling a job failed");
            }
            act.release(msg.unit.uuid());
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

    /// Refreshes the token if it expires soon or was not refreshed for a
    /// day; failures surface through the work itself.
    fn refresh_token(&self, ctx: &mut Context<Self>) {
        let tokens = self.ctx.handle.tokens().clone();
        let fut = async move {
            let _ = tokens
                .refresh_if_stale(REFRESH_AHEAD, REFRESH_AT_LEAST_EVERY)
                .await;
        };
        ctx.spawn(fut.into_actor(self));
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
        Outcome::Ignored(_) | Outcome::NotYet | Outcome::Fenced | Outcome::Abandoned(_) => {}
    }
    Ok(())
}

impl Actor for AccountSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let done = ctx.address().recipient();
        let hooks = self.hooks.clone();
        self.link = Some(LinkGenerator::new(self.ctx.clone(), done.clone(), hooks.clone()).start());
        self.tags = Some(TagUpdater::new(self.ctx.clone(), done, hooks).start());
        if self.restarts > 0 {
            self.record_restart();
        }
        // Taking the account schedules its sweep (at once if never swept,
        // spread over the interval if overdue after a restart).
        let (db, id, interval) = (self.ctx.db.clone(), self.ctx.id.0, self.ctx.sweep_interval);
        let fut = async move {
            db.run(move |c| Ok(crate::db::models::sweep::on_start(c, id, interval)?))
                .await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            if let Err(e) = res {
                tracing::warn!(connection_id = %act.ctx.id, error = %Chain(&e), "scheduling the sweep failed");
            }
            act.poll(ctx);
        }));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
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

/// Stop working for this account (it was disconnected or re-authorising).
/// Units in flight finish and settle; nothing new starts. The actor ends once
/// its workers and the registry have let go of it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

impl Handler<Retire> for AccountSupervisor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        self.stopping = true;
        if let Some(h) = self.next_poll.take() {
            ctx.cancel_future(h);
        }
        self.link = None;
        self.tags = None;
        self.record_stopped();
    }
}

impl Handler<Wake> for AccountSupervisor {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Context<Self>) {
        self.poll(ctx);
    }
}

impl Handler<Finished> for AccountSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Finished, ctx: &mut Context<Self>) {
        self.settle(msg, ctx);
    }
}

/// The token expires soon or was not refreshed for a day (found by the
/// registry's batched check): refresh it now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RefreshToken;

impl Handler<RefreshToken> for AccountSupervisor {
    type Result = ();

    fn handle(&mut self, _: RefreshToken, ctx: &mut Context<Self>) {
        if !self.stopping {
            self.refresh_token(ctx);
        }
    }
}
