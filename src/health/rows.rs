//! What the health report is built from: the figures read from the database,
//! as plain data, so the assembly can be tested without one.

use chrono::{DateTime, Utc};

use super::report::UnmappedPosting;

/// Everything read for one org, at one instant of the database clock.
#[derive(Debug, Clone)]
pub struct HealthRows {
    /// The database's `now()`, so ages compare against the clock that wrote them.
    pub now: DateTime<Utc>,
    /// `None`: the org never connected.
    pub connection: Option<ConnectionRows>,
    /// The org's alert destinations.
    pub alerts: Vec<crate::db::models::alert::Destination>,
}

/// One connection's stored state and figures.
#[derive(Debug, Clone)]
pub struct ConnectionRows {
    pub connection_id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    pub status: crate::domain::status::ConnectionStatus,
    pub connected_at: Option<DateTime<Utc>>,
    pub token_state: crate::domain::status::TokenState,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub stage_id: Option<String>,
    pub stage_name: String,
    pub stage_found: bool,
    /// Every trigger stage (the first is `stage_*`).
    pub stages: Vec<crate::domain::stages::TriggerStage>,
    /// The scopes Lever granted (space-separated; `None` before a grant).
    pub granted_scopes: Option<String>,
    /// What the connection's settings need: (scope, what needs it).
    pub needed_scopes: Vec<(&'static str, &'static str)>,
    /// The results ask for a form or a file, and no `perform_as` is set.
    pub perform_as_missing: bool,
    /// Postings two roles matched at one rule (newest first, at most 6).
    pub overlaps: Vec<crate::db::models::role_overlap::RoleOverlap>,
    /// The last refusal of a form or file: `{"what","why","at"}`.
    pub results_refused: Option<serde_json::Value>,
    /// `connections.problems`: `[{"code","message"}]` written by setup and the pipeline.
    pub stored_problems: serde_json::Value,
    /// A live (not deleted) managed row in `lever_webhooks`.
    pub managed_webhook: bool,
    /// The events with a live webhook row, and whether it is managed.
    pub webhook_events: Vec<(String, bool)>,
    /// The last delivery of each lifecycle event (archive, hired, deleted).
    pub lifecycle_received: Vec<(String, DateTime<Utc>)>,
    /// The `connection_health` row, or its defaults when none was written yet.
    pub record: SupervisorRecord,
    /// `connection_counters` kind `rejected`, last 60 minutes.
    pub rejected_last_hour: i64,
    /// `connection_counters` kind `lever_error`, last 60 minutes.
    pub lever_errors_last_hour: i64,
    pub queue: QueueCounts,
    pub latency: LinkLatency,
    pub unmapped: Vec<UnmappedPosting>,
    /// The `connection_sweeps` row, or its defaults before the first sweep.
    pub sweep: crate::sweep::SweepRecord,
}

/// The `connection_health` columns the report shows.
#[derive(Debug, Clone, Default)]
pub struct SupervisorRecord {
    pub running: bool,
    pub instance: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub restarts: i32,
    pub last_received_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub throttled_until: Option<DateTime<Utc>>,
}

/// Unfinished work over `lever_events` and `jobs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueCounts {
    pub pending: i64,
    pub retrying: i64,
    pub dead_events: i64,
    pub dead_jobs: i64,
    /// Dead events of confidential candidates the grant may not read.
    pub hidden: i64,
    pub oldest_pending_age_s: i64,
}

impl QueueCounts {
    pub fn dead(&self) -> i64 {
        self.dead_events + self.dead_jobs
    }
}

/// Link latency percentiles in milliseconds; `None` when no link was posted.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkLatency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
}
