//! The pipeline's work across its two queues, `lever_events` and `jobs`:
//! the rows a unit works on, how an attempt ended ([`Settle`]), and
//! resuming a paused account (which work is due, and claiming it, is
//! `super::claim`'s). The database is the source of truth and actor messages are only
//! wake-ups, so every function here is safe to repeat. Each table's writes
//! stay in its own module ([`super::lever_event::work`], [`super::job`],
//! [`super::interview::steps`]); this module only spans them.

use diesel::prelude::*;
use uuid::Uuid;

use super::job as jobs;
use super::lever_event::work as events;
pub use super::unit::Settle;

pub use super::interview::steps::{
    NewInterview, Step, close, close_expired, earlier_tags, fail_event_interview, interview,
    open_interview, open_of_candidate, record, set_expiry,
};
pub use super::job::{JobWork, settle_job};
pub use super::lever_event::work::{EventWork, settle_event};

/// The account can work again (reconnected, settings fixed): paused units
/// become due now. Units waiting on their own retry schedule keep it.
pub fn resume_account(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
    let e = events::resume(conn, connection_id)?;
    let j = jobs::resume(conn, connection_id)?;
    crate::db::notify::work_due(conn, connection_id)?;
    Ok(e + j)
}
