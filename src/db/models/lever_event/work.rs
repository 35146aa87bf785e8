//! The pipeline's reads and updates of `lever_events`: due events, how an
//! attempt ended, the interview an event's stage entry is, replay, and
//! resuming a paused account.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::unit::Settle;
use crate::db::schema::lever_events;
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId};
use crate::domain::status::EventStatus;

/// An event the link generator works on.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lever_events, check_for_backend(diesel::pg::Pg))]
pub struct EventWork {
    pub id: EventId,
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    /// Lever's event name: a stage change, or a lifecycle event.
    pub event: String,
    /// A delivery, a sweep's finding or an admin's re-invite.
    pub source: crate::domain::status::EventSource,
    pub opportunity_id: Option<String>,
    pub to_stage_id: Option<String>,
    pub status: crate::domain::status::EventStatus,
    pub attempts: i32,
    pub interview_id: Option<InterviewId>,
    pub received_at: DateTime<Utc>,
}

/// Stores how an attempt at the event ended.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %id))]
pub fn settle_event(conn: &mut PgConnection, id: EventId, s: &Settle) -> QueryResult<usize> {
    let t = lever_events::table.find(id);
    let now = Utc::now();
    match s {
        Settle::Done => diesel::update(t)
            .set((
                lever_events::status.eq(EventStatus::Done),
                lever_events::last_error.eq(None::<String>),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Ignored(reason) => diesel::update(t)
            .set((
                lever_events::status.eq(EventStatus::Ignored),
                lever_events::reason.eq(*reason),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Retry { error, at } => diesel::update(t)
            .set((
                lever_events::status.eq(EventStatus::Retrying),
                lever_events::attempts.eq(lever_events::attempts + 1),
                lever_events::last_error.eq(error),
                lever_events::next_attempt_at.eq(at),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Dead { error, reason } => diesel::update(t)
            .set((
                lever_events::status.eq(EventStatus::Dead),
                lever_events::reason.eq(reason),
                lever_events::attempts.eq(lever_events::attempts + 1),
                lever_events::last_error.eq(error),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Defer { error, at } => diesel::update(t)
            .set((
                lever_events::last_error.eq(error),
                lever_events::next_attempt_at.eq(at),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
    }
}

/// Records which interview an event's stage entry is.
pub(in crate::db) fn tie_to_interview(
    conn: &mut PgConnection,
    event_id: EventId,
    interview_id: InterviewId,
) -> QueryResult<usize> {
    diesel::update(lever_events::table.find(event_id))
        .set(lever_events::interview_id.eq(interview_id))
        .execute(conn)
}

/// The interview the event's stage entry is, if it got that far.
pub(in crate::db) fn interview_of(
    conn: &mut PgConnection,
    event_id: EventId,
) -> QueryResult<Option<InterviewId>> {
    lever_events::table
        .find(event_id)
        .select(lever_events::interview_id)
        .first::<Option<InterviewId>>(conn)
}

/// An event of `org` as replay sees it: its status and connection.
pub fn find_for_org(
    conn: &mut PgConnection,
    org: OrgId,
    id: EventId,
) -> QueryResult<Option<(EventStatus, ConnectionId)>> {
    lever_events::table
        .filter(lever_events::id.eq(id))
        .filter(lever_events::org_id.eq(org))
        .select((lever_events::status, lever_events::connection_id))
        .first(conn)
        .optional()
}

/// Sends a finished event round again: `pending`, due now, attempts reset.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %id))]
pub fn reopen(conn: &mut PgConnection, id: EventId) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::update(lever_events::table.find(id))
        .set((
            lever_events::status.eq(EventStatus::Pending),
            lever_events::attempts.eq(0),
            lever_events::last_error.eq(None::<String>),
            lever_events::next_attempt_at.eq(now),
            lever_events::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Pending events of the connection become due now.
pub(in crate::db) fn resume(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        lever_events::table
            .filter(lever_events::connection_id.eq(connection_id))
            .filter(lever_events::status.eq(EventStatus::Pending)),
    )
    .set(lever_events::next_attempt_at.eq(Utc::now()))
    .execute(conn)
}

/// An admin's re-invite of `opportunity` (whose interview `closed` closed):
/// a `pending` stage-change event into `stage`, which the link step works
/// with a new interview, never the closed one.
pub fn add_reinvite(
    conn: &mut PgConnection,
    connection_id: ConnectionId,
    org_id: OrgId,
    opportunity_id: &str,
    stage_id: &str,
    closed: InterviewId,
) -> QueryResult<EventId> {
    let now = Utc::now();
    let id = EventId(Uuid::now_v7());
    let payload = serde_json::json!({
        "source": crate::domain::status::EventSource::Reinvite,
        "data": {"opportunityId": opportunity_id, "toStageId": stage_id, "reinviteOf": closed.0},
    })
    .to_string();
    diesel::insert_into(lever_events::table)
        .values((
            lever_events::id.eq(id),
            lever_events::connection_id.eq(connection_id),
            lever_events::org_id.eq(org_id),
            lever_events::event.eq(crate::lever::wire::events::CANDIDATE_STAGE_CHANGE),
            lever_events::token.eq(format!("reinvite:{}:{}", closed.0, id.0)),
            lever_events::triggered_at.eq(now.timestamp_millis()),
            lever_events::opportunity_id.eq(opportunity_id),
            lever_events::to_stage_id.eq(stage_id),
            lever_events::payload.eq(payload),
            lever_events::status.eq(EventStatus::Pending),
            lever_events::source.eq(crate::domain::status::EventSource::Reinvite),
        ))
        .execute(conn)?;
    Ok(id)
}
