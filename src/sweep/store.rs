//! What a sweep finds and records: given the candidates now in the stage with
//! their current stage entry, the ones handled neither by an interview nor
//! by an open event get a `pending` `candidateStageChange` event with
//! `source = 'sweep'`, which the pipeline then works exactly as a delivery.
//!
//! "Handled for this entry" (SPEC §4: a candidate already linked, completed,
//! cancelled or failed for its current stage entry is never touched again):
//! - an open interview (`creating`, `link_posted`) of the opportunity: a new
//!   event would only reuse it;
//! - an open event (`pending`, `retrying`) of the opportunity into the stage:
//!   the pipeline will read the opportunity anyway;
//! - a finished event (`done`, `dead`) into the stage whose `triggeredAt` is
//!   at or after the entry (both times are Lever's clock): a delivery of this
//!   entry or a later one, or this sweep's own earlier finding;
//! - an interview created at or after the entry (our clock against Lever's):
//!   kept after retention prunes finished events (interviews are never
//!   pruned).
//!
//! Idempotent: a finding's dedupe identity is the entry itself (token
//! `sweep:<opportunity>:<entered_at>`, `triggered_at = entered_at`), so two
//! sweeps of one entry insert one event, and the unique indexes absorb races.
//! Nothing is written for a handled candidate.
//!
//! The rules are carried out by the one writer of each table:
//! [`record_findings`] in [`crate::pipeline::store::events`] and
//! [`interview_for_entry`] in [`crate::pipeline::store::interviews`]; this
//! module holds the sweep's types and names them.

use uuid::Uuid;

/// A candidate found in the stage: the opportunity and when it last entered
/// the stage (epoch ms, Lever's clock: the latest `stageChanges` entry into
/// the stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub opportunity_id: String,
    pub entered_at: i64,
}

/// The connection a sweep records for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub connection_id: Uuid,
    pub org_id: Uuid,
    pub stage_id: &'a str,
}

pub use crate::pipeline::store::events::{finding_token, record_findings};
pub use crate::pipeline::store::interviews::interview_for_entry;
