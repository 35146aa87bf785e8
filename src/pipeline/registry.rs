//! The `Registry`, one per process: starts an account supervisor for every
//! workable connection (at boot, on a wake-up, and on its periodic check),
//! restarts one whose address died, stops those whose connection was
//! disconnected, and routes wake-ups. Its periodic check also wakes any
//! connection with due work, so a lost wake-up only delays work.

use std::collections::HashMap;

use actix::prelude::*;

use super::context::AccountCtx;
use super::messages::Wake;
use super::store;
use super::supervisor::{AccountSupervisor, Retire};
use crate::config::PipelineSettings;
use crate::connections::Handles;
use crate::db::Pool;
use crate::db::models::connection::Connection;
use crate::domain::ids::ConnectionId;
use crate::wake::WakeReceiver;
use std::sync::Arc;

pub struct Registry {
    db: Pool,
    handles: Arc<Handles>,
    settings: PipelineSettings,
    live_base: String,
    results_base: String,
    instance: String,
    supervisors: HashMap<ConnectionId, Addr<AccountSupervisor>>,
    checking: bool,
    /// A wake-up arrived during a check: check once more after it.
    recheck: bool,
}

/// The periodic check's findings.
#[derive(Message)]
#[rtype(result = "()")]
struct Checked {
    /// `None` when the database could not be read: keep what runs.
    found: Option<(Vec<uuid::Uuid>, Vec<uuid::Uuid>)>,
}

impl Registry {
    pub fn new(
        db: Pool,
        handles: Arc<Handles>,
        settings: PipelineSettings,
        live_base: String,
        results_base: String,
    ) -> Self {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        Self {
            db,
            handles,
            settings,
            live_base,
            results_base,
            instance: format!("{}-{}", host.trim(), std::process::id()),
            supervisors: HashMap::new(),
            checking: false,
            recheck: false,
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

    /// The live supervisor of `id`, started if needed.
    fn supervisor(&mut self, id: ConnectionId) -> Option<Addr<AccountSupervisor>> {
        if let Some(a) = self.supervisors.get(&id).filter(|a| a.connected()) {
            return Some(a.clone());
        }
        let handle = match self.handles.get(id) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(connection_id = %id, error = %e, "cannot build the connection's handle");
                return None;
            }
        };
        let ctx = AccountCtx {
            id,
            db: self.db.clone(),
            handle,
            live_base: self.live_base.clone(),
            results_base: self.results_base.clone(),
        };
        let sup = AccountSupervisor::new(ctx, self.settings.clone(), self.instance.clone());
        let addr = actix::Supervisor::start(move |_| sup);
        if self.supervisors.insert(id, addr.clone()).is_some() {
            tracing::warn!(connection_id = %id, "account supervisor was dead; started again");
        }
        Some(addr)
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.checking {
            return;
        }
        self.checking = true;
        self.recheck = false;
        let db = self.db.clone();
        let me = ctx.address();
        actix::spawn(async move {
            let found = db
                .run(|c| {
                    Ok((
                        Connection::workable_ids(c)?,
                        store::connections_with_due_work(c)?,
                    ))
                })
                .await;
            if let Err(e) = &found {
                tracing::warn!(error = %e, "registry check failed");
            }
            me.do_send(Checked { found: found.ok() });
        });
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check(ctx);
        let every = self.settings.poll_interval;
        ctx.run_interval(every, |act, ctx| act.check(ctx));
    }
}

impl Handler<Wake> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Wake, ctx: &mut Context<Self>) {
        match self.supervisors.get(&msg.0).filter(|a| a.connected()) {
            Some(s) => s.do_send(msg),
            // Not running here (new, reconnected or not workable): the check
            // starts it if its connection is workable and wakes it if work is due.
            None => {
                self.recheck = true;
                self.check(ctx);
            }
        }
    }
}

impl Handler<Checked> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Checked, ctx: &mut Context<Self>) {
        self.checking = false;
        if self.recheck {
            self.check(ctx);
        }
        let Some((workable, due)) = msg.found else {
            return;
        };
        let workable: std::collections::HashSet<ConnectionId> =
            workable.into_iter().map(ConnectionId).collect();
        // Disconnected or re-authorising accounts: stop their supervisors.
        self.supervisors.retain(|id, addr| {
            let keep = workable.contains(id);
            if !keep {
                addr.do_send(Retire);
            }
            keep
        });
        for id in &workable {
            self.supervisor(*id);
        }
        for id in due.into_iter().map(ConnectionId) {
            if workable.contains(&id)
                && let Some(s) = self.supervisor(id)
            {
                s.do_send(Wake(id));
            }
        }
    }
}
