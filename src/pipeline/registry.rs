//! The `Registry`, one per process. Every `renew_every` it heartbeats this
//! instance, renews the leases it holds, gives up leases above its fair share
//! (so accounts spread across live instances), takes free or expired ones
//! (a dead instance's accounts), and runs exactly one account supervisor per
//! lease held: started on taking, drained and stopped on giving up, stopped
//! at once on losing. It routes wake-ups to its supervisors and wakes any
//! with due work, so a lost wake-up (or a NOTIFY from another instance that
//! never came) only delays work.
//!
//! Stopping is one cancellation token per account, children of the
//! registry's own:
//! - a lease given up (a rebalance) or a shutdown first *drains*: its
//!   supervisor claims nothing more, its units in flight may finish within
//!   `ARKITER_SHUTDOWN_GRACE` while the lease keeps being renewed, then the
//!   token is cancelled (what still runs ends at once) and the lease is
//!   released;
//! - a lease lost (another instance took it, or it expired) cancels the
//!   token at once: nothing more is sent for the account;
//! - a registry that died has its token cancelled by its watchdog, which
//!   waits for its supervisors to stop before starting the next registry.
//!
//! It also does, in batches, what would otherwise cost every idle supervisor
//! a database round trip: one statement writes the heartbeat of every
//! supervisor it runs (every [`HEARTBEAT`], and at once for new ones), and
//! one query every [`TOKEN_CHECK`] finds the accounts whose token needs
//! refreshing (see [`super::refresh`]).
//!
//! Supervision: a supervisor whose address died is started again at the
//! next cycle, its restart count carried on (health's `restarts`). Every
//! completed cycle beats the [`RegistryPulse`], which `/readyz` reads. Lease
//! cycles run on their own small pool, so saturated workers cannot cost an
//! instance its leases.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::context::AccountCtx;
use super::hooks::Hooks;
use super::messages::Wake;
use super::refresh::Refresher;
use super::supervisor::{AccountSupervisor, Drain};
use crate::config::{InstanceSettings, PipelineSettings};
use crate::connections::Handles;
use crate::db::Pool;
use crate::db::models::health_record;
use crate::db::models::lease;
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::lease::LeaseCell;
use crate::wake::{LocalAccounts, WakeReceiver};

/// The least time between lease cycles started by wake-ups.
const MIN_CHECK_GAP: Duration = Duration::from_millis(250);
/// How often every supervisor's heartbeat is written (stale after a minute).
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long a watchdog waits for a dead registry's supervisors to stop
/// before it starts the next registry anyway.
const ORPHANS_STOP_WITHIN: Duration = Duration::from_secs(5);

struct Running {
    lease: Arc<LeaseCell>,
    addr: Addr<AccountSupervisor>,
    /// Cancelled to stop the account's units at once.
    stop: CancellationToken,
}

/// When the registry last completed a lease cycle, for `/readyz`; whether
/// the instance is stopping; and whether the registry was stopped for good.
#[derive(Debug)]
pub struct RegistryPulse {
    started: Instant,
    /// Milliseconds after `started` of the last completed cycle (0: none).
    last_cycle_ms: AtomicU64,
    stopping: AtomicBool,
    stopped: AtomicBool,
    /// Older than this, the last cycle means the registry is stuck.
    stale_after: Duration,
}

impl RegistryPulse {
    pub fn new(renew_every: Duration) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last_cycle_ms: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            stale_after: (renew_every * 3).max(Duration::from_secs(5)),
        })
    }

    fn beat(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_cycle_ms.store(ms.max(1), Ordering::Release);
    }

    /// The instance is stopping: `/readyz` says so at once, so the balancer
    /// sends no more requests while the work in flight drains.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// `None` while the registry works; else why it does not.
    pub fn problem(&self) -> Option<String> {
        if self.stopping.load(Ordering::Acquire) {
            return Some("the instance is stopping".to_owned());
        }
        if self.stopped.load(Ordering::Acquire) {
            return Some("the pipeline registry is stopped".to_owned());
        }
        let last = Duration::from_millis(self.last_cycle_ms.load(Ordering::Acquire));
        let since = self.started.elapsed().saturating_sub(last);
        (since > self.stale_after).then(|| {
            format!(
                "the pipeline registry has not completed a lease cycle for {} s",
                since.as_secs()
            )
        })
    }
}

/// Everything a registry is built from, kept so that the watchdog can build
/// another if it dies.
#[derive(Clone)]
pub struct RegistryParts {
    pub db: Pool,
    /// Lease cycles only (a connection or two).
    pub lease_db: Pool,
    pub handles: Arc<Handles>,
    pub settings: PipelineSettings,
    /// Test hooks; production passes [`Hooks::none`].
    pub hooks: Hooks,
    pub instance: InstanceSettings,
    pub live_base: String,
    pub results_base: String,
    pub public_url: String,
    pub secrets: crate::domain::secrets::SecretBox,
    pub sweep_interval: Option<Duration>,
    pub pulse: Arc<RegistryPulse>,
    /// `ARKITER_SHUTDOWN_GRACE`: how long units may drain.
    pub shutdown_grace: Duration,
    /// The longest a Lever write may take to land.
    pub write_lands_within: Duration,
    /// Refreshes idle connections' tokens, a bounded number at once.
    pub refresher: Arc<Refresher>,
    /// Where units record their Lever calls.
    pub calls: super::call_records::CallRecords,
}

pub struct Registry {
    parts: RegistryParts,
    /// Restarts per account, carried across its supervisor's restarts.
    restarts: HashMap<ConnectionId, i32>,
    running: HashMap<ConnectionId, Running>,
    /// Accounts given up and draining: their leases are still renewed.
    draining: HashSet<ConnectionId>,
    /// The ids in `running`, shared with webhook ingest (see [`LocalAccounts`]).
    local: Arc<LocalAccounts>,
    /// This registry's token: every account's token is its child.
    root: CancellationToken,
    /// How many of this registry's supervisors are alive (the watchdog
    /// waits for none before starting another registry).
    live: Arc<AtomicUsize>,
    /// Shutting down: no lease is taken any more.
    shutting_down: bool,
    checking: bool,
    /// A wake-up for an account not running here arrived during a check.
    recheck: bool,
    last_check: Instant,
    /// A cycle is already scheduled for the end of the minimum gap.
    check_pending: bool,
    /// When every supervisor's heartbeat was last written.
    last_beat: Option<Instant>,
}

/// One lease cycle's findings.
struct Cycle {
    held: Vec<lease::Held>,
    /// Held leases above the fair share, to be drained and given up.
    shed: Vec<Uuid>,
    due: Vec<Uuid>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Checked {
    /// `None` when the database could not be read: keep what runs until the
    /// leases' own clock says otherwise.
    found: Option<Cycle>,
    sent: Instant,
}

impl Registry {
    fn new(parts: RegistryParts, local: Arc<LocalAccounts>, live: Arc<AtomicUsize>) -> Self {
        Self {
            parts,
            restarts: HashMap::new(),
            running: HashMap::new(),
            draining: HashSet::new(),
            local,
            root: CancellationToken::new(),
            live,
            shutting_down: false,
            checking: false,
            recheck: false,
            last_check: Instant::now(),
            check_pending: false,
            last_beat: None,
        }
    }

    /// Starts a registry and feeds it the process's wake-ups; it keeps
    /// `local` as the set of accounts it runs. The same task watches it:
    /// a registry that died (not one stopped for good) has its supervisors
    /// stopped, then is replaced.
    pub fn launch(
        parts: RegistryParts,
        mut wakes: WakeReceiver,
        local: Arc<LocalAccounts>,
    ) -> Addr<Self> {
        let start = move |parts: &RegistryParts| {
            let live = Arc::new(AtomicUsize::new(0));
            let reg = Registry::new(parts.clone(), local.clone(), live.clone());
            let root = reg.root.clone();
            (reg.start(), root, live)
        };
        let (addr, root, live) = start(&parts);
        let (mut to, mut root, mut live) = (addr.clone(), root, live);
        let every = parts.instance.renew_every;
        actix::spawn(async move {
            let mut tick = actix_rt::time::interval(every);
            loop {
                tokio::select! {
                    woke = wakes.recv() => match woke {
                        Some(id) => to.do_send(Wake(id)),
                        None => break,
                    },
                    _ = tick.tick() => {
                        if !to.connected() && !parts.pulse.stopped.load(Ordering::Acquire) {
                            tracing::error!("the pipeline registry died; stopping its supervisors and starting a new one");
                            super::metrics::registry_restarted();
                            root.cancel();
                            stop_orphans(&live).await;
                            (to, root, live) = start(&parts);
                        }
                    }
                }
            }
        });
        addr
    }

    fn start_supervisor(&mut self, id: ConnectionId, held: Arc<LeaseCell>, hold_off: Hold) {
        let handle = match self.parts.handles.get(id) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(connection_id = %id, error = %Chain(&e), "cannot build the connection's handle");
                return;
            }
        };
        let p = &self.parts;
        let stop = self.root.child_token();
        let ctx = AccountCtx {
            id,
            lease: held.clone(),
            db: p.db.clone(),
            handle,
            live_base: p.live_base.clone(),
            results_base: p.results_base.clone(),
            public_url: p.public_url.clone(),
            secrets: p.secrets.clone(),
            sweep_interval: p.sweep_interval,
            claim_hold: p.instance.lease,
            write_lands_within: p.write_lands_within,
            late_landing: p.settings.late_landing,
            stop: stop.clone(),
            template_setup: Default::default(),
            calls: p.calls.clone(),
        };
        let restarts = self.restarts.get(&id).copied().unwrap_or(0);
        let sup = AccountSupervisor::new(
            ctx,
            p.settings.clone(),
            p.hooks.clone(),
            p.instance.id.clone(),
            restarts,
            hold_off,
        );
        let addr = sup.counted_in(self.live.clone()).start();
        self.running.insert(
            id,
            Running {
                lease: held,
                addr,
                stop,
            },
        );
        self.local.insert(id);
    }

    /// Stops an account's supervisor at once: its units end, nothing more
    /// is sent (its lease was lost, or a drain is over).
    fn abort_supervisor(&mut self, id: &ConnectionId) {
        self.draining.remove(id);
        if let Some(r) = self.running.remove(id) {
            self.local.remove(id);
            r.lease.release();
            r.stop.cancel();
        }
    }

    /// Gives an account up gently: its supervisor claims nothing more, its
    /// units drain within the grace (the lease is still renewed meanwhile),
    /// then the lease is released for another instance.
    fn drain(&mut self, id: ConnectionId, ctx: &mut Context<Self>) {
        let Some(r) = self.running.get(&id) else {
            return;
        };
        if !self.draining.insert(id) {
            return;
        }
        let drained = r.addr.send(Drain);
        let grace = self.parts.shutdown_grace;
        let fut = async move {
            let _ = actix_rt::time::timeout(grace, drained).await;
        };
        ctx.spawn(fut.into_actor(self).map(move |(), act, _| {
            if !act.draining.contains(&id) {
                return; // lost meanwhile: already stopped
            }
            act.abort_supervisor(&id);
            let (db, me) = (act.parts.lease_db.clone(), act.parts.instance.id.clone());
            actix::spawn(async move {
                let released = db
                    .run(move |c| Ok(lease::release(c, &me, &[id.0], Duration::ZERO)?))
                    .await;
                if let Err(e) = released {
                    tracing::warn!(connection_id = %id, error = %Chain(&e), "releasing a drained lease failed; it expires by itself");
                }
            });
        }));
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.checking {
            self.recheck = true;
            return;
        }
        if self.parts.hooks.registry_should_die() {
            ctx.stop();
            return;
        }
        self.checking = true;
        self.recheck = false;
        self.last_check = Instant::now();
        let db = self.parts.lease_db.clone();
        let me = self.parts.instance.id.clone();
        let lease = self.parts.instance.lease;
        let writes = self.parts.write_lands_within;
        let take = !self.shutting_down;
        let sweeps = self.parts.sweep_interval;
        let addr = ctx.address();
        let sent = Instant::now();
        actix::spawn(async move {
            let found = db
                .run(move |c| Ok(cycle(c, &me, lease, writes, sweeps, take)?))
                .await;
            if let Err(e) = &found {
                tracing::warn!(error = %Chain(e), "lease cycle failed");
            }
            addr.do_send(Checked {
                found: found.ok(),
                sent,
            });
        });
    }

    /// Writes the heartbeat of `started` now, and of every running
    /// supervisor once [`HEARTBEAT`] has passed: one statement.
    fn beat(&mut self, started: Vec<Uuid>) {
        let due = self.last_beat.is_none_or(|t| t.elapsed() >= HEARTBEAT);
        let ids: Vec<Uuid> = if due {
            self.last_beat = Some(Instant::now());
            self.running.keys().map(|id| id.0).collect()
        } else {
            started
        };
        if ids.is_empty() {
            return;
        }
        let (db, me) = (self.parts.db.clone(), self.parts.instance.id.clone());
        actix::spawn(async move {
            let n = ids.len();
            if let Err(e) = db
                .run(move |c| Ok(health_record::heartbeat_all(c, &ids, &me)?))
                .await
            {
                tracing::warn!(supervisors = n, error = %Chain(&e), "heartbeat failed");
            }
        });
    }

    fn apply(&mut self, cycle: Cycle, sent: Instant, ctx: &mut Context<Self>) {
        let held: HashMap<ConnectionId, (i64, Hold)> = cycle
            .held
            .iter()
            .map(|h| (ConnectionId(h.connection_id), (h.epoch, h.hold_off_until)))
            .collect();
        let lost: Vec<ConnectionId> = self
            .running
            .iter()
            .filter(|(id, r)| {
                held.get(id).map(|(e, _)| *e) != Some(r.lease.epoch()) || !r.addr.connected()
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &lost {
            // A supervisor that died while its lease is still ours is
            // started again below: count it.
            if self.running.get(id).is_some_and(|r| !r.addr.connected()) && held.contains_key(id) {
                tracing::error!(connection_id = %id, "an account supervisor died; starting it again");
                *self.restarts.entry(*id).or_default() += 1;
            }
            self.abort_supervisor(id);
        }
        let mut started = Vec::new();
        for (id, (epoch, hold_off)) in held {
            match self.running.get(&id) {
                Some(r) => r.lease.renewed(epoch, sent, self.parts.instance.lease),
                None if !self.shutting_down && !self.draining.contains(&id) => {
                    let cell = LeaseCell::new(
                        self.parts.instance.id.clone(),
                        epoch,
                        sent + self.parts.instance.lease,
                    );
                    self.start_supervisor(id, Arc::new(cell), hold_off);
                    started.push(id.0);
                }
                None => {}
            }
        }
        self.beat(started);
        for id in cycle.shed.into_iter().map(ConnectionId) {
            self.drain(id, ctx);
        }
        for id in cycle.due.into_iter().map(ConnectionId) {
            if let Some(r) = self.running.get(&id) {
                r.addr.do_send(Wake(id));
            }
        }
        let ids: Vec<ConnectionId> = self.running.keys().copied().collect();
        self.parts.refresher.check(&self.parts.db, ids);
    }
}

/// When a lease taken from an instance that took no claims may be worked on.
type Hold = Option<chrono::DateTime<chrono::Utc>>;

/// Waits (bounded) until a dead registry's supervisors have stopped.
async fn stop_orphans(live: &AtomicUsize) {
    let deadline = Instant::now() + ORPHANS_STOP_WITHIN;
    while live.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Heartbeat, renew, find what is above the fair share, take what is free
/// (unless `take` is false: the instance is stopping) and schedule the
/// sweeps of what was taken, then list the accounts with work due.
fn cycle(
    c: &mut diesel::PgConnection,
    me: &str,
    lease_for: Duration,
    write_lands_within: Duration,
    sweep_interval: Option<Duration>,
    take: bool,
) -> diesel::QueryResult<Cycle> {
    let alive = lease::heartbeat(c, me, lease_for)?.max(1);
    let total = lease::workable(c)?;
    let mut held = lease::renew(c, me, lease_for)?;
    let fair = usize::try_from((total + alive - 1) / alive).unwrap_or(usize::MAX);
    let shed: Vec<Uuid> = held.iter().skip(fair).map(|h| h.connection_id).collect();
    if take {
        let want = i64::try_from(fair.saturating_sub(held.len())).unwrap_or(0);
        let taken = lease::acquire(c, me, want, lease_for, write_lands_within)?;
        // Their sweeps are scheduled before due work is looked for, so that a
        // restart taking 10,000 accounts spreads their sweeps instead of
        // finding every one without a schedule due at once.
        let ids: Vec<Uuid> = taken.iter().map(|h| h.connection_id).collect();
        crate::db::models::sweep::on_start(c, &ids, sweep_interval)?;
        announce_takeovers(c, me, &taken);
        held.extend(taken);
    }
    let mut due = crate::db::models::claim::connections_with_claimable_work(c)?;
    due.extend(crate::db::models::sweep::connections_with_due_sweeps(c)?);
    Ok(Cycle { held, shed, due })
}

/// Tells the operator of each instance whose leases were just taken from
/// it (`lease.taken_over`, once per dead instance). Best effort: the cycle
/// (this instance's leases) never fails for a notification.
fn announce_takeovers(c: &mut diesel::PgConnection, me: &str, taken: &[lease::Held]) {
    let mut from: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for h in taken {
        if let Some(dead) = h.taken_from.as_deref() {
            *from.entry(dead).or_default() += 1;
        }
    }
    for (dead, n) in from {
        if let Err(e) = crate::alerts::instances::taken_over(c, dead, me, n) {
            tracing::warn!(error = %Chain(&e), "could not queue lease.taken_over");
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check(ctx);
        let every = self
            .parts
            .instance
            .renew_every
            .min(self.parts.settings.poll_interval);
        ctx.run_interval(every, |act, ctx| act.check(ctx));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.root.cancel();
    }
}

impl Handler<Wake> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Wake, ctx: &mut Context<Self>) {
        match self.running.get(&msg.0).filter(|r| r.addr.connected()) {
            Some(r) => r.addr.do_send(msg),
            // Not ours (yet): a cycle takes it if it is free and ours to take
            // (a new connection), and wakes it if work is due. Wake-ups for
            // accounts another instance owns reach it by NOTIFY; do not let
            // them drive a cycle per delivery here.
            None if self.last_check.elapsed() > MIN_CHECK_GAP => self.check(ctx),
            // Too soon after the last cycle: run one when the gap is over
            // (a new connection then starts at once, not a poll period later).
            None if !self.check_pending => {
                self.check_pending = true;
                let wait = MIN_CHECK_GAP.saturating_sub(self.last_check.elapsed());
                ctx.run_later(wait, |act, ctx| {
                    act.check_pending = false;
                    act.check(ctx);
                });
            }
            None => {}
        }
    }
}

impl Handler<Checked> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Checked, ctx: &mut Context<Self>) {
        self.checking = false;
        if let Some(cycle) = msg.found {
            self.parts.pulse.beat();
            self.apply(cycle, msg.sent, ctx);
        }
        if self.recheck {
            self.check(ctx);
        }
    }
}

/// Stops the registry for good (it is not restarted), draining first: no
/// lease is taken any more, every account's units may finish within the
/// grace while the leases are still renewed, then whatever still runs is
/// stopped and every lease is released. `/readyz` says not ready from the
/// start. Used on SIGTERM and by tests.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRegistry;

impl Handler<StopRegistry> for Registry {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: StopRegistry, _: &mut Context<Self>) -> Self::Result {
        self.parts.pulse.stopping();
        self.shutting_down = true;
        let drains: Vec<_> = self.running.values().map(|r| r.addr.send(Drain)).collect();
        let grace = self.parts.shutdown_grace;
        let wait = async move {
            let _ = actix_rt::time::timeout(grace, futures_util::future::join_all(drains)).await;
        };
        Box::pin(wait.into_actor(self).then(|(), act, _| {
            act.parts.pulse.stopped.store(true, Ordering::Release);
            let ids: Vec<ConnectionId> = act.running.keys().copied().collect();
            for id in &ids {
                act.abort_supervisor(id);
            }
            let (db, me) = (act.parts.lease_db.clone(), act.parts.instance.id.clone());
            async move {
                if let Err(e) = db
                    .run(move |c| {
                        let released = lease::release_all(c, &me)?;
                        // The operator hears of it from whichever instance
                        // sends next (the outbox outlives this one).
                        if let Err(e) = crate::alerts::instances::stopped(c, &me, released) {
                            tracing::warn!(error = %Chain(&e), "could not queue instance.stopped");
                        }
                        Ok(())
                    })
                    .await
                {
                    tracing::warn!(error = %Chain(&e), "could not release leases; they expire by themselves");
                }
            }
            .into_actor(act)
        })
        // Stopped only once the reply is on its way: a context stopped
        // while this future runs would drop it, and the caller with it.
        .map(|(), _, ctx| {
            ctx.run_later(Duration::ZERO, |_, ctx| ctx.stop());
        }))
    }
}
