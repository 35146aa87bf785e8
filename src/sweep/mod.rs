//! The sweep (docs/contract/sweep.md): the safety net for
//! candidates whose `candidateStageChange` never reached us (Lever gave up
//! after five tries, a Super Admin turned the webhook group off, our webhook
//! was deleted). Each active connection is swept every
//! `ARKITER_SWEEP_INTERVAL` seconds, right after (re)connecting, and on
//! demand (`POST .../lever/sweep`).
//!
//! - which candidates in the stage are not handled for their current stage
//!   entry, and recording them as `source = 'sweep'` events, is the table
//!   module `db::models::lever_event::findings`; the `connection_sweeps` row
//!   (on-demand requests, when a sweep is due, the figures the health page
//!   shows, webhook findings) is `db::models::sweep`.
//! - [`run`]: one sweep of one connection against Lever; [`reconcile`]: its
//!   list of archives Lever did not deliver; [`webhook`]: its check (and
//!   repair) of our Lever webhooks.
//!
//! The account supervisor decides *when* (it owns the connection's lease and
//! its priority: a sweep yields to webhook and completion work); this module
//! only says *what*.

pub mod metrics;
pub mod reconcile;
pub mod run;
pub mod webhook;

pub use crate::db::models::lever_event::findings::{Candidate, record_findings};
pub use crate::db::models::sweep::{SweepRecord, request_sweep};
pub use run::{
    Fence, SweepDeps, SweepError, SweepOutcome, SweepTarget, WebhookCheck, run_if_due, sweep,
};

use crate::domain::ids::ConnectionId;
use crate::wake::Wake;

/// Tells this process's registry that `connection` has something to do. The
/// supervisor, on any wake-up, asks whether a sweep is due (a request makes
/// it due at once).
pub fn wake_for_sweep(wake: &Wake, connection: ConnectionId) {
    wake.wake(connection);
}
