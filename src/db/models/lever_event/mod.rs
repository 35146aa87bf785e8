//! The `lever_events` table as the admin API reads it: the durable inbox of
//! verified Lever deliveries (and sweep findings), listed newest first.
//!
//! Its writes are in the submodules: [`insert`] (ingest's batch insert),
//! [`work`] (the pipeline's updates), [`findings`] (the sweep's events) and
//! [`prune`] (retention's deletes).
//! Both dedupe identities of a delivery are unique indexes, so "already had
//! it" is a row not inserted, never an error.

pub mod findings;
pub mod insert;
pub mod prune;
pub mod work;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::page::{Cursor, Page, PageRequest};
use crate::db::schema::lever_events;
pub use crate::domain::status::{EventSource, EventStatus};

/// A verified delivery about to be stored.
/// An event as the admin API lists it (no payload: up to 64 KiB each).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lever_events, check_for_backend(diesel::pg::Pg))]
pub struct EventSummary {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub event: String,
    pub opportunity_id: Option<String>,
    pub to_stage_id: Option<String>,
    pub triggered_at: i64,
    pub received_at: DateTime<Utc>,
    pub status: EventStatus,
    pub reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub interview_id: Option<Uuid>,
    /// `webhook` (a Lever delivery) or `sweep` (found by a sweep).
    pub source: EventSource,
}

/// An org's events, newest first, optionally of one status. Keyset
/// pagination on `(received_at, id)` descending: events arriving while an
/// admin pages land before the first page, never shifting later ones.
pub fn list_for_org(
    conn: &mut PgConnection,
    org_id: Uuid,
    status: Option<EventStatus>,
    page: PageRequest,
) -> QueryResult<Page<EventSummary>> {
    let mut q = lever_events::table
        .filter(lever_events::org_id.eq(org_id))
        .select(EventSummary::as_select())
        .order((lever_events::received_at.desc(), lever_events::id.desc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(lever_events::status.eq(s.as_str()));
    }
    if let Some(c) = page.after {
        q = q.filter(
            lever_events::received_at
                .lt(c.t)
                .or(lever_events::received_at
                    .eq(c.t)
                    .and(lever_events::id.lt(c.id))),
        );
    }
    let rows = q.load(conn)?;
    Ok(page.finish(rows, |r| Cursor {
        t: r.received_at,
        id: r.id,
    }))
}
