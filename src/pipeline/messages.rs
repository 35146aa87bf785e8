//! The messages between the pipeline's actors. They carry ids and rows read
//! from the database, never the only copy of anything: losing one only delays work.

use actix::Message;
use uuid::Uuid;

use super::outcome::Outcome;
use crate::db::models::work::{EventWork, JobWork};
use crate::domain::ids::{ConnectionId, EventId, JobId};

/// New work may be in the database for this connection.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake(pub ConnectionId);

/// Generate the link for a stage-change event (to a link generator).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct GenerateLink(pub EventWork);

/// Post results or cancel (to a tag updater).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct UpdateTags(pub JobWork);

/// A unit of work: an event (link step) or a job (results, cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitId {
    Event(EventId),
    Job(JobId),
}

impl UnitId {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Event(_) => "event",
            Self::Job(_) => "job",
        }
    }

    /// The bare id: claims span both tables, whose ids never collide.
    pub fn uuid(self) -> Uuid {
        match self {
            Self::Event(EventId(id)) | Self::Job(JobId(id)) => id,
        }
    }
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.uuid().fmt(f)
    }
}

/// A worker finished one unit (told to the supervisor with `do_send`).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Finished {
    pub unit: UnitId,
    pub attempts: i32,
    pub outcome: Outcome,
}
