//! The `Registry`, one per process. Every `renew_every` it heartbeats this
//! instance, renews the leases it holds, gives up leases above its fair share
//! (so accounts spread across live instances), takes free or expired ones
//! (a dead instance's accounts), and runs exactly one account supervisor per
//! lease held: started on taking, retired on losing. It routes wake-ups to
//! its supervisors and wakes any with due work, so a lost wake-up (or a
//! NOTIFY from another instance that never came) only delays work.
//!
//! It also does, in batches, what would otherwise cost every idle supervisor
//! a database round trip: one statement writes the heartbeat of every
//! supervisor it runs (every [`HEARTBEAT`], and at once for new ones), and
//! one query every [`TOKEN_CHECK`] finds the accounts whose token expires
//! soon or was not refreshed for a day, whose supervisors are then told to
//! refresh it.
//!
//! Supervision: a supervisor whose address died is started again at the
//! next cycle, its restart count carried on (health's `restarts`). The
//! registry itself is watched: every completed cycle beats its
//! [`RegistryPulse`], which `/readyz` reads, and the task that feeds it
//! wake-ups starts a new registry if the old one died. Lease cycles run on
//! their own small pool, so saturated workers cannot cost an instance its
//! leases.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::context::AccountCtx;
use super::hooks::Hooks;
use super::messages::Wake;
use super::supervisor::{
    AccountSupervisor, REFRESH_AHEAD, REFRESH_AT_LEAST_EVERY, RefreshToken, Retire,
};
use crate::config::{InstanceSettings, PipelineSettings};
use crate::connections::Handles;
use crate::db::Pool;
use crate::db::models::health_record;
use crate::db::models::work as store;
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::status::ConnectionStatus;
use crate::lease::LeaseCell;
use crate::wake::{LocalAccounts, WakeReceiver};

/// How long a lease given up (above the fair share) stays ours, so requests
/// in flight land before another instance takes over.
const RELEASE_GRACE: Duration = Duration::from_secs(2);
/// The least time between lease cycles started by wake-ups.
const MIN_CHECK_GAP: Duration = Duration::from_millis(250);
/// How often every supervisor's heartbeat is written (stale after a minute).
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often tokens are checked for freshness (they are refreshed 10
/// minutes before expiry, and a client refreshes an expired one on use).
const TOKEN_CHECK: Duration = Duration::from_secs(60);

struct Running {
    lease: Arc<LeaseCell>,
    addr: Addr<AccountSupervisor>,
}

/// When the registry last completed a lease cycle, for `/readyz`; and
/// whether it was told to stop for good.
#[derive(Debug)]
pub struct RegistryPulse {
    started: Instant,
    /// Milliseconds after `started` of the last completed cycle (0: none).
    last_cycle_ms: AtomicU64,
    stopped: AtomicBool,
    /// Older than this, the last cycle means the registry is stuck.
    stale_after: Duration,
}

impl RegistryPulse {
    pub fn new(renew_every: Duration) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last_cycle_ms: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            stale_after: (renew_every * 3).max(Duration::from_secs(5)),
        })
    }

    fn beat(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_cycle_ms.store(ms.max(1), Ordering::Release);
    }

    /// `None` while the registry works; else why it does not.
    pub fn problem(&self) -> Option<String> {
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
}

pub struct Registry {
    db: Pool,
    lease_db: Pool,
    pulse: Arc<RegistryPulse>,
    /// Restarts per account, carried across its supervisor's restarts.
    restarts: HashMap<ConnectionId, i32>,
    handles: Arc<Handles>,
    settings: PipelineSettings,
    hooks: Hooks,
    instance: InstanceSettings,
    live_base: String,
    results_base: String,
    public_url: String,
    secrets: crate::domain::secrets::SecretBox,
    sweep_interval: Option<Duration>,
    running: HashMap<ConnectionId, Running>,
    /// The ids in `running`, shared with webhook ingest (see [`LocalAccounts`]).
    local: Arc<LocalAccounts>,
    checking: bool,
    /// A wake-up for an account not running here arrived during a check.
    recheck: bool,
    last_check: Instant,
    /// A cycle is already scheduled for the end of the minimum gap.
    check_pending: bool,
    /// When every supervisor's heartbeat / token was last written / checked.
    last_beat: Option<Instant>,
    last_token_check: Option<Instant>,
}

/// One lease cycle's findings.
struct Cycle {
    held: Vec<crate::db::models::lease::Held>,
    released: Vec<Uuid>,
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
    pub fn new(parts: RegistryParts) -> Self {
        Self {
            db: parts.db,
            lease_db: parts.lease_db,
            pulse: parts.pulse,
            restarts: HashMap::new(),
            handles: parts.handles,
            settings: parts.settings,
            hooks: parts.hooks,
            instance: parts.instance,
            live_base: parts.live_base,
            results_base: parts.results_base,
            public_url: parts.public_url,
            secrets: parts.secrets,
            sweep_interval: parts.sweep_interval,
            running: HashMap::new(),
            local: Arc::default(),
            checking: false,
            recheck: false,
            last_check: Instant::now(),
            check_pending: false,
            last_beat: None,
            last_token_check: None,
        }
    }

    /// Starts a registry and feeds it the process's wake-ups; it keeps
    /// `local` as the set of accounts it runs. The same task watches it:
    /// a registry that died (not one told to [`StopRegistry`]) is replaced.
    pub fn launch(
        parts: RegistryParts,
        mut wakes: WakeReceiver,
        local: Arc<LocalAccounts>,
    ) -> Addr<Self> {
        let start = move |parts: &RegistryParts| {
            let mut reg = Registry::new(parts.clone());
            reg.local = local.clone();
            reg.start()
        };
        let addr = start(&parts);
        let mut to = addr.clone();
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
                            tracing::error!("the pipeline registry died; starting a new one");
                            super::metrics::registry_restarted();
                            to = start(&parts);
                        }
                    }
                }
            }
        });
        addr
    }

    fn start_supervisor(&mut self, id: ConnectionId, lease: Arc<LeaseCell>) {
        let handle = match self.handles.get(id) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(connection_id = %id, error = %Chain(&e), "cannot build the connection's handle");
                return;
            }
        };
        let ctx = AccountCtx {
            id,
            lease: lease.clone(),
            db: self.db.clone(),
            handle,
            live_base: self.live_base.clone(),
            results_base: self.results_base.clone(),
            public_url: self.public_url.clone(),
            secrets: self.secrets.clone(),
            sweep_interval: self.sweep_interval,
        };
        let restarts = self.restarts.get(&id).copied().unwrap_or(0);
        let sup = AccountSupervisor::new(
            ctx,
            self.settings.clone(),
            self.hooks.clone(),
            self.instance.id.clone(),
            restarts,
        );
        let addr = sup.start();
        self.running.insert(id, Running { lease, addr });
        self.local.insert(id);
    }

    fn stop_supervisor(&mut self, id: &ConnectionId) {
        if let Some(r) = self.running.remove(id) {
            self.local.remove(id);
            r.lease.release();
            r.addr.do_send(Retire);
        }
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.checking {
            self.recheck = true;
            return;
        }
        self.checking = true;
        self.recheck = false;
        self.last_check = Instant::now();
        let db = self.lease_db.clone();
        let me = self.instance.id.clone();
        let lease = self.instance.lease;
        let addr = ctx.address();
        let sent = Instant::now();
        actix::spawn(async move {
            let found = db.run(move |c| Ok(cycle(c, &me, lease)?)).await;
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
        let (db, me) = (self.db.clone(), self.instance.id.clone());
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

    /// Every [`TOKEN_CHECK`], finds the accounts here whose token needs
    /// refreshing (one query) and tells their supervisors.
    fn check_tokens(&mut self, ctx: &mut Context<Self>) {
        if self
            .last_token_check
            .is_some_and(|t| t.elapsed() < TOKEN_CHECK)
        {
            return;
        }
        self.last_token_check = Some(Instant::now());
        let ids: Vec<Uuid> = self.running.keys().map(|id| id.0).collect();
        let db = self.db.clone();
        let fut = async move { db.run(move |c| Ok(stale_tokens(c, &ids)?)).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, _| match res {
            Ok(stale) => {
                for id in stale {
                    if let Some(r) = act.running.get(&ConnectionId(id)) {
                        r.addr.do_send(RefreshToken);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %Chain(&e), "token freshness check failed"),
        }));
    }

    fn apply(&mut self, cycle: Cycle, sent: Instant) {
        for id in &cycle.released {
            self.stop_supervisor(&ConnectionId(*id));
        }
        let held: HashMap<ConnectionId, i64> = cycle
            .held
            .iter()
            .map(|h| (ConnectionId(h.connection_id), h.epoch))
            .collect();
        let lost: Vec<ConnectionId> = self
            .running
            .iter()
            .filter(|(id, r)| held.get(id) != Some(&r.lease.epoch()) || !r.addr.connected())
            .map(|(id, _)| *id)
            .collect();
        for id in &lost {
            // A supervisor that died while its lease is still ours is
            // started again below: count it.
            if self.running.get(id).is_some_and(|r| !r.addr.connected()) && held.contains_key(id) {
                tracing::error!(connection_id = %id, "an account supervisor died; starting it again");
                *self.restarts.entry(*id).or_default() += 1;
            }
        }
        for id in &lost {
            self.stop_supervisor(id);
        }
        let mut started = Vec::new();
        for (id, epoch) in held {
            match self.running.get(&id) {
                Some(r) => r.lease.renewed(epoch, sent, self.instance.lease),
                None => {
                    let cell =
                        LeaseCell::new(self.instance.id.clone(), epoch, sent + self.instance.lease);
                    self.start_supervisor(id, Arc::new(cell));
                    started.push(id.0);
                }
            }
        }
        self.beat(started);
        for id in cycle.due.into_iter().map(ConnectionId) {
            if let Some(r) = self.running.get(&id) {
                r.addr.do_send(Wake(id));
            }
        }
    }
}

/// Heartbeat, renew, shed above the fair share, take what is free.
fn cycle(c: &mut diesel::PgConnection, me: &str, lease: Duration) -> diesel::QueryResult<Cycle> {
    let alive = crate::db::models::lease::heartbeat(c, me, lease)?.max(1);
    let total = crate::db::models::lease::workable(c)?;
    let mut held = crate::db::models::lease::renew(c, me, lease)?;
    let fair = usize::try_from((total + alive - 1) / alive).unwrap_or(usize::MAX);
    let mut released = Vec::new();
    if held.len() > fair {
        let extra = held.split_off(fair);
        released = extra.iter().map(|h| h.connection_id).collect();
        crate::db::models::lease::release(c, me, &released, RELEASE_GRACE)?;
    }
    let want = i64::try_from(fair.saturating_sub(held.len())).unwrap_or(0);
    held.extend(crate::db::models::lease::acquire(c, me, want, lease)?);
    let mut due = store::connections_with_due_work(c)?;
    due.extend(crate::db::models::sweep::connections_with_due_sweeps(c)?);
    Ok(Cycle {
        held,
        released,
        due,
    })
}

/// Marks every supervisor in `ids` as running here, now (its restart count
/// is left as its supervisor recorded it).
#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Which of `ids` hold a token that expires within [`REFRESH_AHEAD`] or was
/// last refreshed more than [`REFRESH_AT_LEAST_EVERY`] ago.
fn stale_tokens(c: &mut diesel::PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    let secs = |d: chrono::Duration| d.num_seconds() as f64;
    let rows: Vec<Stale> = diesel::sql_query(
        "SELECT id FROM connections WHERE id = ANY($1) AND status = ANY($4) \
         AND refresh_token_enc IS NOT NULL \
         AND (token_expires_at IS NULL OR token_expires_at < now() + make_interval(secs => $2) \
              OR last_refreshed_at IS NULL OR last_refreshed_at < now() - make_interval(secs => $3))",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Double, _>(secs(REFRESH_AHEAD))
    .bind::<Double, _>(secs(REFRESH_AT_LEAST_EVERY))
    .bind::<Array<Text>, _>(ConnectionStatus::RUNNING)
    .load(c)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check(ctx);
        let every = self.instance.renew_every.min(self.settings.poll_interval);
        ctx.run_interval(every, |act, ctx| act.check(ctx));
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
            self.pulse.beat();
            self.apply(cycle, msg.sent);
            self.check_tokens(ctx);
        }
        if self.recheck {
            self.check(ctx);
        }
    }
}

/// Stops the registry for good (it is not restarted): its supervisors are
/// retired and `/readyz` says not ready. Used on shutdown and by tests.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRegistry;

impl Handler<StopRegistry> for Registry {
    type Result = ();

    fn handle(&mut self, _: StopRegistry, ctx: &mut Context<Self>) {
        self.pulse.stopped.store(true, Ordering::Release);
        let ids: Vec<ConnectionId> = self.running.keys().copied().collect();
        for id in &ids {
            self.stop_supervisor(id);
        }
        ctx.stop();
    }
}
