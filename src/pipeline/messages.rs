//! The messages between the pipeline's actors. They carry ids and rows read
//! from the database, never the only copy of anything: losing one only delays work.

use actix::Message;
use uuid::Uuid;

use super::context::UnitClaim;
use super::outcome::Outcome;
use crate::db::models::work::{EventWork, JobWork};
use crate::domain::ids::{ConnectionId, EventId, JobId};

/// New work may be in the database for this connection.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake(pub ConnectionId);

/// Generate the link for a stage-change event (to a link generator), under
/// the claim of its candidate; answers how the unit ended.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Outcome")]
pub struct GenerateLink {
    pub event: EventWork,
    pub claim: UnitClaim,
}

/// Post results or cancel (to a tag updater), under the claim of its
/// candidate; answers how the unit ended.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Outcome")]
pub struct UpdateTags {
    pub job: JobWork,
    pub claim: UnitClaim,
}

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
