//! How an attempt at a unit of work ended as it is stored, for both of the
//! pipeline's queues (`lever_events` and `jobs`).

use chrono::{DateTime, Utc};

use crate::domain::status::EventStatus;

/// How an attempt at a unit of work ended, as stored.
#[derive(Debug, Clone)]
pub enum Settle {
    Done,
    Ignored(&'static str),
    /// A failure of this job: counts an attempt.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    Dead {
        error: String,
        /// Why, when it has a stable name (an event's `reason`).
        reason: Option<&'static str>,
    },
    /// The account is paused (Lever down, throttled, needs re-auth): no attempt used.
    Defer {
        error: Option<String>,
        at: DateTime<Utc>,
    },
}

impl Settle {
    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done => EventStatus::Done.as_str(),
            Self::Ignored(_) => EventStatus::Ignored.as_str(),
            Self::Retry { .. } => "retry",
            Self::Dead { .. } => EventStatus::Dead.as_str(),
            Self::Defer { .. } => "deferred",
        }
    }
}
