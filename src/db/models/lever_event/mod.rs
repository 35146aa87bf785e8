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

/// What the events list is narrowed to; every part combines with the others.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    pub source: Option<EventSource>,
    pub opportunity_id: Option<String>,
    pub reason: Option<String>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
}

/// An org's events, newest first, optionally of one status. Keyset
/// pagination on `(received_at, id)` descending: events arriving while an
/// admin pages land before the first page, never shifting later ones.
pub fn list_for_org(
    conn: &mut PgConnection,
    org_id: Uuid,
    filter: &EventFilter,
    page: PageRequest,
) -> QueryResult<Page<EventSummary>> {
    let mut q = lever_events::table
        .select(EventSummary::as_select())
        .order((lever_events::received_at.desc(), lever_events::id.desc()))
        .limit(page.limit + 1)
        .into_boxed();
    q = match &filter.opportunity_id {
        // The candidate's few events, found through its own indexes within
        // the org (as the export finds them), then read by id. With the
        // org's condition beside them, the planner walked the org's events
        // in order looking for them (560 ms at 10 million rows).
        Some(opp) => q.filter(lever_events::id.eq_any(candidate_event_ids(conn, org_id, opp)?)),
        None => q.filter(lever_events::org_id.eq(org_id)),
    };
    if let Some(s) = filter.status {
        q = q.filter(lever_events::status.eq(s.as_str()));
    }
    if let Some(s) = filter.source {
        q = q.filter(lever_events::source.eq(s));
    }
    if let Some(r) = &filter.reason {
        q = match is_reason_word(r) {
            // Written out, so that the planner may use the partial index
            // of the rarer reasons (a bound value hides which it is).
            true => q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "lever_events.reason = '{r}'"
            ))),
            false => q.filter(lever_events::reason.eq(r.clone())),
        };
    }
    if let Some(t) = filter.since {
        q = q.filter(lever_events::received_at.ge(t));
    }
    if let Some(t) = filter.until {
        q = q.filter(lever_events::received_at.lt(t));
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

#[derive(QueryableByName)]
struct LastReceived {
    #[diesel(sql_type = diesel::sql_types::Text)]
    event: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    at: DateTime<Utc>,
}

/// When each lifecycle event (no to-stage: archive, hired, deleted) was
/// last delivered to the connection, through the lifecycle index: those
/// rows are few beside the stage changes, and retention bounds them.
pub fn lifecycle_received(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    let rows: Vec<LastReceived> = diesel::sql_query(
        "SELECT event, max(received_at) AS at FROM lever_events \
         WHERE connection_id = $1 AND to_stage_id IS NULL AND source = $2 GROUP BY event",
    )
    .bind::<diesel::sql_types::Uuid, _>(connection_id)
    .bind::<diesel::sql_types::Text, _>(EventSource::Webhook)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.event, r.at)).collect())
}

/// One stored event of a candidate, with its payload, for the export.
#[derive(Debug, Clone, QueryableByName)]
pub struct CandidateEvent {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub event: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub source: EventSource,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status: EventStatus,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub reason: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub to_stage_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub from_stage_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub triggered_at: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub received_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub interview_id: Option<Uuid>,
    /// The body as received (or as the service recorded a finding).
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub payload: String,
}

/// Every stored event of opportunity `opportunity_id` on `org`'s
/// connection, oldest first: stage changes through the move-key range of
/// the candidate, the others through the partial index of events without a
/// to-stage. Never a scan of the inbox.
pub fn of_candidate(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
) -> QueryResult<Vec<CandidateEvent>> {
    candidate_rows(
        conn,
        org_id,
        opportunity_id,
        "e.id, e.event, e.source, e.status, e.reason, e.to_stage_id, e.from_stage_id, \
         e.triggered_at, e.received_at, e.interview_id, e.payload",
    )
}

#[derive(QueryableByName)]
struct EventIdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// The ids of the candidate's events in the org.
fn candidate_event_ids(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<EventIdRow> =
        candidate_rows(conn, org_id, opportunity_id, "e.id, e.received_at")?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// `columns` of the events of one candidate of an org, oldest first, found
/// through the candidate's own indexes: the move-key range for stage
/// changes, the lifecycle index for the rest.
///
/// The org's connection (an org has at most one) is read first and bound:
/// with the key range computed from a joined column, the planner cannot
/// estimate it and reads every event of the org instead (560 ms at 10
/// million rows); from bound values it reads the range. The move-key index
/// is partial (`to_stage_id IS NOT NULL`), which the statement says.
fn candidate_rows<T: QueryableByName<diesel::pg::Pg> + 'static>(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
    columns: &str,
) -> QueryResult<Vec<T>> {
    use crate::db::schema::connections;
    let Some(connection) = connections::table
        .filter(connections::org_id.eq(org_id))
        .select(connections::id)
        .first::<Uuid>(conn)
        .optional()?
    else {
        return Ok(Vec::new());
    };
    diesel::sql_query(format!(
        "SELECT * FROM ( \
           SELECT {columns} FROM lever_events e \
           WHERE arkiter_move_key(e.connection_id, e.opportunity_id, e.event, e.to_stage_id, \
                                  e.triggered_at) \
                 BETWEEN arkiter_candidate_low($1, $2) AND arkiter_candidate_high($1, $2) \
             AND e.connection_id = $1 AND e.opportunity_id = $2 AND e.to_stage_id IS NOT NULL \
           UNION ALL \
           SELECT {columns} FROM lever_events e \
           WHERE e.connection_id = $1 AND e.opportunity_id = $2 AND e.to_stage_id IS NULL) x \
         ORDER BY received_at, id"
    ))
    .bind::<diesel::sql_types::Uuid, _>(connection)
    .bind::<diesel::sql_types::Text, _>(opportunity_id)
    .load(conn)
}

/// A reason as the service spells them (`other_stage`, `left_stage`, ...):
/// safe to write into a statement.
fn is_reason_word(r: &str) -> bool {
    !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The replays of `events` (by an admin, one or in bulk): event id, when,
/// and who.
pub fn replays_of(
    conn: &mut PgConnection,
    events: &[Uuid],
) -> QueryResult<Vec<(Uuid, DateTime<Utc>, String)>> {
    use crate::db::schema::event_replays;
    event_replays::table
        .filter(event_replays::event_id.eq_any(events))
        .select((
            event_replays::event_id,
            event_replays::replayed_at,
            event_replays::actor,
        ))
        .load(conn)
}
