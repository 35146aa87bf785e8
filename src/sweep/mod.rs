//! The sweep (SPEC §4 "What Lever did not deliver"): the safety net for
//! candidates whose `candidateStageChange` never reached us (Lever gave up
//! after five tries, a Super Admin turned the webhook group off, our webhook
//! was deleted). Each active connection is swept every
//! `ARKITER_SWEEP_INTERVAL` seconds, right after (re)connecting, and on
//! demand (`POST .../lever/sweep`).
//!
//! - [`store`]: which candidates in the stage are not handled for their
//!   current stage entry, and recording them as `source = 'sweep'` events.
//! - [`schedule`]: the `connection_sweeps` row: on-demand requests, when a
//!   sweep is due, the figures the health page shows, webhook findings.
//! - [`run`]: one sweep of one connection against Lever; [`webhook`]: its
//!   check (and repair) of our Lever webhook.
//!
//! The account supervisor decides *when* (it owns the connection's lease and
//! its priority: a sweep yields to webhook and completion work); this module
//! only says *what*.

pub mod metrics;
pub mod run;
pub mod schedule;
pub mod store;
pub mod webhook;

pub use run::{
    Fence, SweepDeps, SweepError, SweepOutcome, SweepTarget, WebhookCheck, run_if_due, sweep,
};
pub use schedule::{SweepRecord, request_sweep, wake_for_sweep};
pub use store::{Candidate, record_findings};
