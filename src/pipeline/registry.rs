//! The `Registry`, one per process. Every `renew_every` it heartbeats this
//! instance, renews the leases it holds, gives up leases above its fair share
//! (so accounts spread across live instances), takes free or expired ones
//! (a dead instance's accounts), and runs exactly one account supervisor per
//! lease held: started on taking, retired on losing. It routes wake-ups to
//! its supervisors and wakes any with due work, so a lost wake-up (or a
//! NOTIFY from another instance that never came) only delays work.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use uuid::Uuid;

use super::context::AccountCtx;
use super::messages::Wake;
use super::store;
use super::supervisor::{AccountSupervisor, Retire};
use crate::config::{InstanceSettings, PipelineSettings};
use crate::connections::Handles;
use crate::db::Pool;
use crate::domain::ids::ConnectionId;
use crate::lease::{self, LeaseCell};
use crate::wake::WakeReceiver;

/// How long a lease given up (above the fair share) stays ours, so requests
/// in flight land before another instance takes over.
const RELEASE_GRACE: Duration = Duration::from_secs(2);
/// The least time between lease cycles started by wake-ups.
const MIN_CHECK_GAP: Duration = Duration::from_millis(250);

struct Running {
    lease: Arc<LeaseCell>,
    addr: Addr<AccountSupervisor>,
}

pub struct Registry {
    db: Pool,
    handles: Arc<Handles>,
    settings: PipelineSettings,
    instance: InstanceSettings,
    live_base: String,
    results_base: String,
    running: HashMap<ConnectionId, Running>,
    checking: bool,
    /// A wake-up for an account not running here arrived during a check.
    recheck: bool,
    last_check: Instant,
    /// A cycle is already scheduled for the end of the minimum gap.
    check_pending: bool,
}

/// One lease cycle's findings.
struct Cycle {
    held: Vec<lease::store::Held>,
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
    pub fn new(
        db: Pool,
        handles: Arc<Handles>,
        settings: PipelineSettings,
        instance: InstanceSettings,
        live_base: String,
        results_base: String,
    ) -> Self {
        Self {
            db,
            handles,
            settings,
            instance,
            live_base,
            results_base,
            running: HashMap::new(),
            checking: false,
            recheck: false,
            last_check: Instant::now(),
            check_pending: false,
        }
    }

    /// Starts the registry and feeds it the process's wake-ups.
    pub fn launch(self, mut wakes: WakeReceiver) -> Addr<Self> {
        let addr = self.start();
        let to = addr.clone();
        actix::spawn(async move {
            while let Some(id) = wakes.recv().await {
                to.do_send(Wake(id));
            }
        });
        addr
    }

    fn start_supervisor(&mut self, id: ConnectionId, lease: Arc<LeaseCell>) {
        let handle = match self.handles.get(id) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(connection_id = %id, error = %e, "cannot build the connection's handle");
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
        };
        let sup = AccountSupervisor::new(ctx, self.settings.clone(), self.instance.id.clone());
        let addr = actix::Supervisor::start(move |_| sup);
        self.running.insert(id, Running { lease, addr });
    }

    fn stop_supervisor(&mut self, id: &ConnectionId) {
        if let Some(r) = self.running.remove(id) {
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
        let db = self.db.clone();
        let me = self.instance.id.clone();
        let lease = self.instance.lease;
        let addr = ctx.address();
        let sent = Instant::now();
        actix::spawn(async move {
            let found = db.run(move |c| Ok(cycle(c, &me, lease)?)).await;
            if let Err(e) = &found {
                tracing::warn!(error = %e, "lease cycle failed");
            }
            addr.do_send(Checked {
                found: found.ok(),
                sent,
            });
        });
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
            self.stop_supervisor(id);
        }
        for (id, epoch) in held {
            match self.running.get(&id) {
                Some(r) => r.lease.renewed(epoch, sent, self.instance.lease),
                None => {
                    let cell =
                        LeaseCell::new(self.instance.id.clone(), epoch, sent + self.instance.lease);
                    self.start_supervisor(id, Arc::new(cell));
                }
            }
        }
        for id in cycle.due.into_iter().map(ConnectionId) {
            if let Some(r) = self.running.get(&id) {
                r.addr.do_send(Wake(id));
            }
        }
    }
}

/// Heartbeat, renew, shed above the fair share, take what is free.
fn cycle(c: &mut diesel::PgConnection, me: &str, lease: Duration) -> diesel::QueryResult<Cycle> {
    let alive = lease::store::heartbeat(c, me, lease)?.max(1);
    let total = lease::store::ensure_rows(c)?;
    let mut held = lease::store::renew(c, me, lease)?;
    let fair = usize::try_from((total + alive - 1) / alive).unwrap_or(usize::MAX);
    let mut released = Vec::new();
    if held.len() > fair {
        let extra = held.split_off(fair);
        released = extra.iter().map(|h| h.connection_id).collect();
        lease::store::release(c, me, &released, RELEASE_GRACE)?;
    }
    let want = i64::try_from(fair.saturating_sub(held.len())).unwrap_or(0);
    held.extend(lease::store::acquire(c, me, want, lease)?);
    let due = store::connections_with_due_work(c)?;
    Ok(Cycle {
        held,
        released,
        due,
    })
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
            self.apply(cycle, msg.sent);
        }
        if self.recheck {
            self.check(ctx);
        }
    }
}
