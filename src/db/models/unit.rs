//! A unit of work's bookkeeping, shared by the pipeline's two queues
//! (`lever_events` and `jobs`): what a poll must skip, and how an attempt
//! ended as it is stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::status::EventStatus;

/// What a poll must not hand out again: units in flight, and every unit of
/// an opportunity that has one in flight (work is serialised per candidate).
#[derive(Debug, Default, Clone)]
pub struct Claimed {
    pub units: Vec<Uuid>,
    pub opportunities: Vec<String>,
}

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
