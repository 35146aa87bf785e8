//! Per-connection health (docs/contract/health.md), read from the database and never asked
//! of an actor or of Lever: it works for a disconnected account, and for an
//! account whose supervisor runs on another instance.
//!
//! [`query::load`] reads the rows the supervisor, ingest and setup write
//! ([`rows`]); [`build`] turns them into the report ([`report`]) with the
//! status rules ([`status`]) and the problem texts ([`problems`]). Reads:
//! `connections`, `connection_health`, `connection_counters` (kinds
//! [`COUNTER_REJECTED`] and [`COUNTER_LEVER_ERROR`], last 60 minutes),
//! `lever_webhooks`, `lever_events`, `jobs`, `interviews`, `role_ats_jobs`,
//! `connection_sweeps`.
//! Setting: `ARKITER_NO_DELIVERIES_AFTER_SECS` (`no_deliveries_yet`).

mod assemble;
pub mod problems;
pub mod query;
pub mod report;
pub mod rows;
pub mod series;
pub mod status;

use std::time::Duration;

pub use assemble::build;
pub use report::HealthReport;

use crate::config::Settings;
use crate::domain::status::CounterKind;

/// Counter kind of a delivery refused for its signature or timestamp (written by ingest).
pub const COUNTER_REJECTED: CounterKind = CounterKind::Rejected;
/// Counter kind of a failed Lever call (written by the account supervisor).
pub const COUNTER_LEVER_ERROR: CounterKind = CounterKind::LeverError;

/// A supervisor heartbeat older than this is stale (supervisors beat well within it).
pub const SUPERVISOR_STALE_AFTER: Duration = Duration::from_secs(60);

/// The thresholds the report applies.
#[derive(Debug, Clone)]
pub struct Policy {
    /// An active connection with no delivery for this long gets `no_deliveries_yet`.
    pub no_deliveries_after: Duration,
    pub supervisor_stale_after: Duration,
    /// `LEVER_SCOPES`: what connecting asks for (`scope_missing` says
    /// "reconnect" for a scope in it, "ask the operator" for one not).
    pub asked_scopes: String,
    /// An alert destination refusing for this long is `alert_failing`.
    pub alert_failing_after: Duration,
}

impl Policy {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            no_deliveries_after: s.no_deliveries_after,
            supervisor_stale_after: SUPERVISOR_STALE_AFTER,
            asked_scopes: s.lever.scopes.clone(),
            alert_failing_after: s.alerts.failing_after,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{DateTime, Utc};

    use super::Policy;
    use super::rows::{ConnectionRows, QueueCounts, SupervisorRecord};

    /// The default thresholds: 24 hours, 60 seconds.
    pub fn policy() -> Policy {
        Policy {
            no_deliveries_after: std::time::Duration::from_secs(86_400),
            supervisor_stale_after: super::SUPERVISOR_STALE_AFTER,
            asked_scopes: crate::lever::SCOPES.to_owned(),
            alert_failing_after: std::time::Duration::from_secs(3600),
        }
    }

    /// An active connection with nothing wrong, connected an hour ago.
    pub fn active(now: DateTime<Utc>) -> ConnectionRows {
        ConnectionRows {
            connection_id: uuid::Uuid::nil(),
            org_id: uuid::Uuid::nil(),
            status: crate::domain::status::ConnectionStatus::Active,
            connected_at: Some(now - chrono::Duration::hours(1)),
            token_state: crate::domain::status::TokenState::Valid,
            token_expires_at: Some(now + chrono::Duration::hours(1)),
            last_refreshed_at: Some(now - chrono::Duration::hours(1)),
            stage_id: Some("stage-1".into()),
            stage_name: "Arkiter Live".into(),
            stage_found: true,
            stages: vec![crate::domain::stages::TriggerStage {
                id: Some("stage-1".into()),
                name: "Arkiter Live".into(),
                found: true,
            }],
            stored_problems: serde_json::json!([]),
            granted_scopes: Some(crate::lever::SCOPES.to_owned()),
            needed_scopes: Vec::new(),
            perform_as_missing: false,
            results_refused: None,
            overlaps: Vec::new(),
            managed_webhook: true,
            webhook_events: Vec::new(),
            lifecycle_received: Vec::new(),
            record: SupervisorRecord {
                running: true,
                instance: Some("host:1".into()),
                heartbeat_at: Some(now - chrono::Duration::seconds(5)),
                restarts: 0,
                last_received_at: Some(now - chrono::Duration::minutes(5)),
                ..SupervisorRecord::default()
            },
            rejected_last_hour: 0,
            lever_errors_last_hour: 0,
            queue: QueueCounts::default(),
            latency: Default::default(),
            unmapped: Vec::new(),
            sweep: Default::default(),
        }
    }
}
