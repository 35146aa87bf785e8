//! The messages between the pipeline's actors. They carry ids and rows read
//! from the database, never the only copy of anything: losing one only delays work.

use actix::Message;
use uuid::Uuid;

use super::outcome::Outcome;
use super::store::{EventWork, JobWork};
use crate::domain::ids::ConnectionId;

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

/// Which table a finished unit of work lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Event,
    Job,
}

impl Unit {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Job => "job",
        }
    }
}

/// A worker finished one unit (told to the supervisor with `do_send`).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Finished {
    pub id: Uuid,
    pub unit: Unit,
    pub attempts: i32,
    pub outcome: Outcome,
}
