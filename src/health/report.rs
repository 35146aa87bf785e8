//! The JSON shape of `GET /api/v1/orgs/{org}/lever/health` (docs/contract/health.md).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The connection's overall state, as one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Pending,
    Healthy,
    /// Active, but with dead work, unmapped postings, Lever errors in the
    /// last hour, or throttled by Lever right now.
    Degraded,
    NeedsReauth,
    NeedsSetup,
    Disconnected,
    /// The org never connected a Lever account.
    NotConnected,
}

/// Per-connection health, read from the database only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub checked_at: DateTime<Utc>,
    pub token: TokenHealth,
    pub webhook: WebhookHealth,
    /// The first trigger stage (kept for older clients).
    pub stage: StageHealth,
    /// Every trigger stage, in order.
    pub stages: Vec<StageHealth>,
    pub queue: QueueHealth,
    pub lever_api: LeverApiHealth,
    pub latency_ms: LatencyHealth,
    pub supervisor: SupervisorHealth,
    pub sweep: SweepHealth,
    /// One entry per event the service takes a webhook for: registered (or
    /// not), and when Lever last delivered it.
    pub webhooks: Vec<EventWebhookHealth>,
    /// Postings resolved only by the `fallback` or `any` rule in the last 30
    /// days and still not mapped to a role (at most 50, newest first).
    pub unmapped_postings: Vec<UnmappedPosting>,
    /// The org's alert destinations: where each sends, its last status,
    /// and since when it has failed.
    pub alerts: Vec<AlertHealth>,
    /// What an admin should fix, in plain words.
    pub problems: Vec<Problem>,
}

/// One alert destination in the health report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertHealth {
    pub id: uuid::Uuid,
    /// The host notifications go to (never the whole URL: a Slack one is a secret).
    pub host: String,
    pub last_status: Option<i16>,
    pub failing_since: Option<DateTime<Utc>>,
}

/// One event's webhook: whether the service holds a live one for it, and
/// when Lever last delivered that event (its group is on).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventWebhookHealth {
    /// `candidateStageChange`, `candidateArchiveChange`, `candidateHired`
    /// or `candidateDeleted`.
    pub event: String,
    /// Registered through the Lever API (not a pasted token).
    pub managed: bool,
    /// A live webhook for the event is registered.
    pub present: bool,
    /// The last signed delivery of this event (the stage change's counts
    /// any delivery, Lever's Test ping included).
    pub last_received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TokenHealth {
    /// `valid`, `refreshing` or `invalid`; null when never connected.
    pub state: Option<crate::domain::status::TokenState>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WebhookHealth {
    /// A webhook registered through the Lever API is live (not a pasted one).
    pub managed: bool,
    pub last_received_at: Option<DateTime<Utc>>,
    /// Deliveries refused (signature or timestamp) in the last 60 minutes.
    pub rejected_last_hour: i64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StageHealth {
    pub id: Option<String>,
    /// Null when never connected.
    pub name: Option<String>,
    /// The stage exists in the Lever account.
    pub found: bool,
}

/// Unfinished work of the connection: Lever events and follow-up jobs together.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct QueueHealth {
    pub pending: i64,
    pub retrying: i64,
    pub dead: i64,
    /// Age of the oldest pending or retrying item; 0 when there is none.
    pub oldest_pending_age_s: i64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LeverApiHealth {
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub errors_last_hour: i64,
    /// Set only while Lever's rate limit holds the account back.
    pub throttled_until: Option<DateTime<Utc>>,
}

/// From a delivery's arrival to its link being on the opportunity, over the
/// links posted in the last 24 hours; null when none was.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LatencyHealth {
    pub link_p50: Option<i64>,
    pub link_p95: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SupervisorHealth {
    /// Recorded as running and its heartbeat is fresh.
    pub running: bool,
    pub instance: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub restarts: i32,
}

/// The sweep for candidates Lever did not deliver (docs/contract/sweep.md).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SweepHealth {
    /// When the last sweep finished; null before the first.
    pub last_at: Option<DateTime<Utc>>,
    /// When the next periodic sweep is due; null when none is planned
    /// (`ARKITER_SWEEP_INTERVAL=0`) or before the account's first start.
    pub next_at: Option<DateTime<Utc>>,
    /// Candidates the last sweep found that Lever had not delivered.
    pub found_last: i64,
    /// The same, over every sweep of this connection.
    pub found_total: i64,
    /// Since when sweeps have been failing (each is retried, backing off);
    /// null when the last one ran. A failed sweep changes neither `last_at`
    /// nor the figures.
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the last sweep failed; null when it ran.
    pub last_error: Option<String>,
}

/// A Lever posting that fell through to the fallback or oldest role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, QueryableByName)]
pub struct UnmappedPosting {
    #[diesel(sql_type = Text)]
    pub posting_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub title: Option<String>,
    /// `fallback` or `any`: the rule of the newest interview of the posting.
    #[diesel(sql_type = Text)]
    pub rule: crate::domain::status::Rule,
}

/// One thing to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Stable code: `stage_missing`, `token_revoked`, `dead_jobs`, ...
    pub code: String,
    pub message: String,
}

impl Problem {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}
