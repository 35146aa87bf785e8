//! The actor pipeline: from a stage change to a live link, and from a
//! completion to results on the Lever opportunity (docs/ARCHITECTURE.md).
//!
//! `Registry` (one per process) → `AccountSupervisor` (one per connected
//! account) → `LinkGenerator` / `TagUpdater`. Postgres is the source of truth
//! (the table modules under `db::models`); messages are wake-ups.

pub mod attention;
pub mod caches;
pub mod call_records;
pub mod close;
pub mod context;
pub mod erase;
pub mod feedback;
pub mod hooks;
pub mod link;
pub mod messages;
pub mod metrics;
pub mod outcome;
pub mod pass;
pub mod refresh;
pub mod registry;
pub mod report_file;
pub mod results;
pub mod supervisor;
pub mod sweeping;
pub mod workers;
pub mod writes;
pub mod written;

pub use registry::Registry;
