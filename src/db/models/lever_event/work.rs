//! The pipeline's reads and updates of `lever_events`: due events, how an
//! attempt ended, the interview an event's stage entry is, replay, and
//! resuming a paused account.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::unit::Settle;
use crate::db::schema::lever_events;
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId};
use crate::domain::status::{EventSource, EventStatus};

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
    /// Lever's `triggeredAt` (ms; a finding's stage entry, an admin
    /// action's time).
    pub triggered_at: i64,
    pub status: crate::domain::status::EventStatus,
    pub attempts: i32,
    pub interview_id: Option<InterviewId>,
    pub received_at: DateTime<Utc>,
    /// The delivery's trace context, when traces were exported as it
    /// arrived (the `telemetry::traces` module).
    pub trace_parent: Option<String>,
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

/// The org's `dead` events that went dead (their last update) in
/// `[since, until)`, oldest first, at most `limit`: a bulk replay's set.
pub fn dead_between(
    conn: &mut PgConnection,
    org: OrgId,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: i64,
) -> QueryResult<Vec<(EventId, ConnectionId)>> {
    let mut q = lever_events::table
        .filter(lever_events::org_id.eq(org))
        .filter(lever_events::status.eq(EventStatus::Dead))
        .select((lever_events::id, lever_events::connection_id))
        .order((lever_events::updated_at, lever_events::id))
        .limit(limit)
        .into_boxed();
    if let Some(t) = since {
        q = q.filter(lever_events::updated_at.ge(t));
    }
    if let Some(t) = until {
        q = q.filter(lever_events::updated_at.lt(t));
    }
    q.load(conn)
}

/// Sends a finished event round again: `pending`, due now, attempts reset;
/// the replay, by `actor`, is kept for the candidate's timeline.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %id))]
pub fn reopen(conn: &mut PgConnection, id: EventId, actor: &str) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::insert_into(crate::db::schema::event_replays::table)
        .values((
            crate::db::schema::event_replays::event_id.eq(id),
            crate::db::schema::event_replays::replayed_at.eq(now),
            crate::db::schema::event_replays::actor.eq(actor),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
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
    let payload = serde_json::json!({
        "source": EventSource::Reinvite,
        "data": {"opportunityId": opportunity_id, "toStageId": stage_id, "reinviteOf": closed.0},
    });
    add_admin_event(
        conn,
        AdminEvent {
            connection_id,
            org_id,
            event: crate::lever::wire::events::CANDIDATE_STAGE_CHANGE,
            source: EventSource::Reinvite,
            opportunity_id,
            to_stage_id: Some(stage_id),
            token_of: &closed.0.to_string(),
            payload,
        },
    )
}

/// An admin's erase of `opportunity`: a `pending` deletion of source
/// `erase`, which the erase unit works without asking Lever to confirm.
pub fn add_erase(
    conn: &mut PgConnection,
    connection_id: ConnectionId,
    org_id: OrgId,
    opportunity_id: &str,
) -> QueryResult<EventId> {
    add_admin_event(
        conn,
        AdminEvent {
            connection_id,
            org_id,
            event: crate::lever::wire::events::CANDIDATE_DELETED,
            source: EventSource::Erase,
            opportunity_id,
            to_stage_id: None,
            token_of: "candidate",
            payload: serde_json::json!({"source": EventSource::Erase}),
        },
    )
}

/// An event an admin's action makes, worked like a delivery.
struct AdminEvent<'a> {
    connection_id: ConnectionId,
    org_id: OrgId,
    event: &'a str,
    source: EventSource,
    opportunity_id: &'a str,
    to_stage_id: Option<&'a str>,
    /// What the token names beside the source and the event's own id.
    token_of: &'a str,
    payload: serde_json::Value,
}

fn add_admin_event(conn: &mut PgConnection, e: AdminEvent<'_>) -> QueryResult<EventId> {
    let now = Utc::now();
    let id = EventId(Uuid::now_v7());
    diesel::insert_into(lever_events::table)
        .values((
            lever_events::id.eq(id),
            lever_events::connection_id.eq(e.connection_id),
            lever_events::org_id.eq(e.org_id),
            lever_events::event.eq(e.event),
            lever_events::token.eq(format!("{}:{}:{}", e.source, e.token_of, id.0)),
            lever_events::triggered_at.eq(now.timestamp_millis()),
            lever_events::opportunity_id.eq(e.opportunity_id),
            lever_events::to_stage_id.eq(e.to_stage_id),
            lever_events::payload.eq(e.payload.to_string()),
            lever_events::status.eq(EventStatus::Pending),
            lever_events::source.eq(e.source),
        ))
        .execute(conn)?;
    Ok(id)
}
