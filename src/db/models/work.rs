//! The pipeline's due work across its two queues, `lever_events` and `jobs`:
//! which connections have work due, what a poll must skip, when the next
//! attempt is, how an attempt ended ([`Settle`]), and resuming a paused
//! account. The database is the source of truth and actor messages are only
//! wake-ups, so every function here is safe to repeat. Each table's writes
//! stay in its own module ([`super::lever_event::work`], [`super::job`],
//! [`super::interview::steps`]); this module only spans them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::job as jobs;
use super::lever_event::work as events;
pub use super::unit::{Claimed, Settle};

pub use super::interview::steps::{
    NewInterview, Step, fail_event_interview, interview, open_interview, record,
};
pub use super::job::{JobWork, due_jobs, settle_job};
pub use super::lever_event::work::{EventWork, due_events, due_events_query, settle_event};

/// Connections with work due now (the registry's safety-net poll).
pub fn connections_with_due_work(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    let now = Utc::now();
    let mut ids = events::due_connections(conn, now)?;
    ids.extend(jobs::due_connections(conn, now)?);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The earliest future attempt of the connection's open work, to sleep until.
pub fn next_due_at(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    let e = events::next_due_at(conn, connection_id)?;
    let j = jobs::next_due_at(conn, connection_id)?;
    Ok(match (e, j) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// The account can work again (reconnected, settings fixed): paused units
/// become due now. Units waiting on their own retry schedule keep it.
pub fn resume_account(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
    let e = events::resume(conn, connection_id)?;
    let j = jobs::resume(conn, connection_id)?;
    crate::db::notify::work_due(conn, connection_id)?;
    Ok(e + j)
}
