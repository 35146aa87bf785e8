//! The `lever_events` table's one writer, and the pipeline's reads of it:
//! ingest's batch insert of deliveries, due events, how an attempt ended,
//! the interview an event's stage entry is, replay, resuming a paused
//! account, and the events a sweep finds. The admin API's list is in
//! [`crate::db::models::lever_event`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::{Claimed, Settle};
use crate::db::schema::lever_events;
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId};
use crate::domain::status::{EventSource, EventStatus, InterviewStatus, in_list};
use crate::ingest::delivery::reasons::OTHER_STAGE;
use crate::lever::wire::events;
use crate::sweep::store::{Candidate, Target};

/// An event the link generator works on.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lever_events, check_for_backend(diesel::pg::Pg))]
pub struct EventWork {
    pub id: EventId,
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    pub opportunity_id: Option<String>,
    pub to_stage_id: Option<String>,
    pub status: crate::domain::status::EventStatus,
    pub attempts: i32,
    pub interview_id: Option<InterviewId>,
    pub received_at: DateTime<Utc>,
}

/// `status IN ('pending', 'retrying')` spelled as literals, exactly the
/// predicate of the partial `lever_events_due` index: a bound array (`=
/// ANY($n)`) cannot prove it once Postgres switches a prepared statement to
/// its generic plan, and the query then scans and sorts every open row.
pub(super) fn open_events() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(&format!(
        "lever_events.status IN ({})",
        in_list(EventStatus::OPEN, EventStatus::as_str)
    ))
}

/// Due events of a connection, longest due first (a new event is due from
/// its arrival), skipping claimed units and opportunities.
pub fn due_events(
    conn: &mut PgConnection,
    connection_id: Uuid,
    skip: &Claimed,
    limit: i64,
) -> QueryResult<Vec<EventWork>> {
    due_events_query(connection_id, Utc::now(), skip, limit).load(conn)
}

/// The query [`due_events`] runs, apart so that its plan can be checked: it
/// walks the `lever_events_due` index in order and stops after `limit` rows,
/// however many events are open.
pub fn due_events_query(
    connection_id: Uuid,
    now: DateTime<Utc>,
    skip: &Claimed,
    limit: i64,
) -> lever_events::BoxedQuery<'_, Pg, SqlTypeOf<AsSelect<EventWork, Pg>>> {
    lever_events::table
        .filter(lever_events::connection_id.eq(connection_id))
        .filter(open_events())
        .filter(lever_events::next_attempt_at.le(now))
        .filter(lever_events::id.ne_all(&skip.units))
        .filter(
            lever_events::opportunity_id
                .ne_all(&skip.opportunities)
                .or(lever_events::opportunity_id.is_null()),
        )
        .order(lever_events::next_attempt_at)
        .limit(limit)
        .select(EventWork::as_select())
        .into_boxed()
}

/// Stores how an attempt at the event ended.
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
        Settle::Dead { error } => diesel::update(t)
            .set((
                lever_events::status.eq(EventStatus::Dead),
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
pub(super) fn tie_to_interview(
    conn: &mut PgConnection,
    event_id: EventId,
    interview_id: InterviewId,
) -> QueryResult<usize> {
    diesel::update(lever_events::table.find(event_id))
        .set(lever_events::interview_id.eq(interview_id))
        .execute(conn)
}

/// The interview the event's stage entry is, if it got that far.
pub(super) fn interview_of(
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
pub(super) fn resume(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        lever_events::table
            .filter(lever_events::connection_id.eq(connection_id))
            .filter(lever_events::status.eq(EventStatus::Pending)),
    )
    .set(lever_events::next_attempt_at.eq(Utc::now()))
    .execute(conn)
}

/// The token of a sweep finding: one per stage entry.
pub fn finding_token(opportunity_id: &str, entered_at: i64) -> String {
    format!("sweep:{opportunity_id}:{entered_at}")
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Text)]
    opportunity_id: String,
}

/// Records a `pending` sweep event for each candidate not handled for its
/// current entry (see [`crate::sweep::store`]) and returns their opportunity ids, in
/// one statement. Candidates listed twice count once. The caller wakes the
/// connection's worker (nothing here sends a wake-up).
pub fn record_findings(
    conn: &mut PgConnection,
    target: Target<'_>,
    candidates: &[Candidate],
) -> QueryResult<Vec<String>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| seen.insert(c.opportunity_id.as_str()))
        .collect();
    let ids: Vec<Uuid> = unique.iter().map(|_| Uuid::new_v4()).collect();
    let opps: Vec<&str> = unique.iter().map(|c| c.opportunity_id.as_str()).collect();
    let entered: Vec<i64> = unique.iter().map(|c| c.entered_at).collect();
    let found: Vec<Found> = diesel::sql_query(
        "WITH cand AS ( \
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) \
             AS t(id, opportunity_id, entered_at)), \
         fresh AS ( \
           SELECT c.* FROM cand c \
           WHERE NOT EXISTS ( \
               SELECT 1 FROM interviews i \
               WHERE i.connection_id = $4 AND i.opportunity_id = c.opportunity_id \
                 AND (i.status = ANY($8) \
                      OR i.created_at >= to_timestamp(c.entered_at / 1000.0))) \
             AND NOT EXISTS ( \
               SELECT 1 FROM lever_events e \
               WHERE e.connection_id = $4 AND e.event = $6 \
                 AND e.opportunity_id = c.opportunity_id AND e.to_stage_id = $7 \
                 AND (e.status = ANY($9) \
                      OR (e.status = ANY($10) AND e.triggered_at >= c.entered_at)))) \
         INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status, source) \
         SELECT id, $4, $5, $6, 'sweep:' || opportunity_id || ':' || entered_at, entered_at, \
             opportunity_id, $7, \
             jsonb_build_object('source', $12::text, 'event', $6::text, 'data', \
               jsonb_build_object('opportunityId', opportunity_id, 'toStageId', $7::text, \
                                  'enteredAt', entered_at)), \
             $11, $12 \
         FROM fresh \
         ON CONFLICT DO NOTHING \
         RETURNING opportunity_id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&opps)
    .bind::<Array<BigInt>, _>(&entered)
    .bind::<SqlUuid, _>(target.connection_id)
    .bind::<SqlUuid, _>(target.org_id)
    .bind::<Text, _>(events::CANDIDATE_STAGE_CHANGE)
    .bind::<Text, _>(target.stage_id)
    .bind::<Array<Text>, _>(InterviewStatus::OPEN)
    .bind::<Array<Text>, _>(EventStatus::OPEN)
    .bind::<Array<Text>, _>(EventStatus::FINISHED)
    .bind::<Text, _>(EventStatus::Pending)
    .bind::<Text, _>(EventSource::Sweep)
    .load(conn)?;
    // $12 is also the payload's `source`, as the admin API shows it.
    Ok(found.into_iter().map(|f| f.opportunity_id).collect())
}

/// Connections with events due at `now`.
pub(super) fn due_connections(
    conn: &mut PgConnection,
    now: chrono::DateTime<Utc>,
) -> QueryResult<Vec<Uuid>> {
    lever_events::table
        .filter(open_events())
        .filter(lever_events::next_attempt_at.le(now))
        .select(lever_events::connection_id)
        .distinct()
        .load(conn)
}

/// The earliest attempt of the connection's open events.
pub(super) fn next_due_at(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<chrono::DateTime<Utc>>> {
    lever_events::table
        .filter(lever_events::connection_id.eq(connection_id))
        .filter(open_events())
        .select(diesel::dsl::min(lever_events::next_attempt_at))
        .first(conn)
}

/// A delivery about to be stored, owning its fields (it crosses threads).
#[derive(Debug, Clone)]
pub struct OwnedEvent {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub org_id: Uuid,
    pub event: String,
    pub token: String,
    pub triggered_at: i64,
    pub opportunity_id: Option<String>,
    pub to_stage_id: Option<String>,
    pub from_stage_id: Option<String>,
    /// The body as received (valid JSON text).
    pub payload: String,
    pub status: EventStatus,
    pub reason: Option<&'static str>,
}

/// Inserts delivered events in one statement, skipping any either dedupe
/// identity already holds (within the batch too), or failing whole on the
/// first such row, as `duplicates` says; returns the ids inserted and the
/// status each was stored with. A row ingest judged `other_stage` is
/// checked against the connection's stage as committed, in the same
/// statement: a stage changed on another instance moments ago (ingest's
/// cache lags by up to its TTL) stores it `pending`, never a lost `ignored`.
/// The stage is read once per connection that has such rows (a materialized
/// lookup of those ids; none when the batch has no such row).
///
/// One statement for any batch size (`INSERT .. SELECT FROM unnest` of one
/// array per column) with a static query id, so each pooled connection
/// prepares it once per ending and Postgres never re-parses or re-plans it. In
/// autocommit it is its own transaction, and its rows come back only after
/// the commit (and its WAL flush).
pub fn insert_deliveries(
    c: &mut PgConnection,
    rows: &[OwnedEvent],
    duplicates: Duplicates,
) -> QueryResult<HashMap<Uuid, EventStatus>> {
    let found = match duplicates {
        Duplicates::Skip => {
            InsertEvents::<SkipDuplicates>::new(rows).load::<(Uuid, EventStatus)>(c)
        }
        Duplicates::Fail => {
            InsertEvents::<FailOnDuplicate>::new(rows).load::<(Uuid, EventStatus)>(c)
        }
    };
    Ok(found?.into_iter().collect())
}

/// What [`insert_deliveries`] does with a row either dedupe identity
/// already holds (or one the batch holds twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Skips it (`ON CONFLICT DO NOTHING`): every row is a speculative
    /// insertion, which probes each unique index before inserting and then
    /// confirms the row with a WAL record of its own.
    Skip,
    /// Fails the whole statement with a unique violation, storing nothing.
    /// About 15 % less Postgres CPU per row when there is none.
    Fail,
}

/// The batch insert as a query type of its own, with a static query id, so
/// diesel keeps it prepared on each connection (a `sql_query` is parsed and
/// planned by Postgres on every call). One array per column. `M` is the
/// statement's ending, one prepared statement each.
struct InsertEvents<'a, M> {
    ids: Vec<Uuid>,
    connection_ids: Vec<Uuid>,
    org_ids: Vec<Uuid>,
    events: Vec<&'a str>,
    tokens: Vec<&'a str>,
    triggered_at: Vec<i64>,
    opportunity_ids: Vec<Option<&'a str>>,
    to_stage_ids: Vec<Option<&'a str>>,
    from_stage_ids: Vec<Option<&'a str>>,
    payloads: Vec<&'a str>,
    statuses: Vec<EventStatus>,
    reasons: Vec<Option<&'a str>>,
    /// The connections whose stage the `other_stage` rows are checked against.
    recheck: Vec<Uuid>,
    _ending: std::marker::PhantomData<M>,
}

/// How an [`InsertEvents`] statement ends.
trait Ending: 'static {
    const SQL: &'static str;
}

/// [`Duplicates::Skip`].
struct SkipDuplicates;

impl Ending for SkipDuplicates {
    const SQL: &'static str = " ON CONFLICT DO NOTHING RETURNING id, status";
}

/// [`Duplicates::Fail`].
struct FailOnDuplicate;

impl Ending for FailOnDuplicate {
    const SQL: &'static str = " RETURNING id, status";
}

impl<'a, M> InsertEvents<'a, M> {
    fn new(rows: &'a [OwnedEvent]) -> Self {
        Self {
            ids: rows.iter().map(|r| r.id).collect(),
            connection_ids: rows.iter().map(|r| r.connection_id).collect(),
            org_ids: rows.iter().map(|r| r.org_id).collect(),
            events: rows.iter().map(|r| r.event.as_str()).collect(),
            tokens: rows.iter().map(|r| r.token.as_str()).collect(),
            triggered_at: rows.iter().map(|r| r.triggered_at).collect(),
            opportunity_ids: rows.iter().map(|r| r.opportunity_id.as_deref()).collect(),
            to_stage_ids: rows.iter().map(|r| r.to_stage_id.as_deref()).collect(),
            from_stage_ids: rows.iter().map(|r| r.from_stage_id.as_deref()).collect(),
            payloads: rows.iter().map(|r| r.payload.as_str()).collect(),
            statuses: rows.iter().map(|r| r.status).collect(),
            reasons: rows.iter().map(|r| r.reason).collect(),
            recheck: rows
                .iter()
                .filter(|r| r.reason == Some(OTHER_STAGE))
                .map(|r| r.connection_id)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect(),
            _ending: std::marker::PhantomData,
        }
    }
}

/// The cache key, with the ending: one prepared statement per connection
/// and ending for every batch.
struct InsertEventsId;

impl<M: Ending> QueryId for InsertEvents<'_, M> {
    type QueryId = (InsertEventsId, M);
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<M> Query for InsertEvents<'_, M> {
    type SqlType = (SqlUuid, Text);
}

impl<C, M> RunQueryDsl<C> for InsertEvents<'_, M> {}

impl<M: Ending> QueryFragment<Pg> for InsertEvents<'_, M> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH stage AS MATERIALIZED (SELECT id, stage_id FROM connections WHERE id = ANY(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.recheck)?;
        out.push_sql(
            ")) INSERT INTO lever_events (id, connection_id, org_id, event, token, \
             triggered_at, opportunity_id, to_stage_id, from_stage_id, payload, status, reason) \
             SELECT id, connection_id, org_id, event, token, triggered_at, opportunity_id, \
             to_stage_id, from_stage_id, payload, \
             CASE WHEN promote THEN ",
        );
        out.push_bind_param::<Text, _>(&EventStatus::Pending)?;
        out.push_sql(
            " ELSE status END, \
             CASE WHEN promote THEN NULL ELSE reason END \
             FROM (SELECT t.*, coalesce(t.reason = ",
        );
        out.push_bind_param::<Text, _>(&OTHER_STAGE)?;
        out.push_sql(
            " AND s.stage_id = t.to_stage_id, false) \
               AS promote FROM unnest(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.connection_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.org_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.events)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.tokens)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.triggered_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.opportunity_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.to_stage_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.from_stage_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.payloads)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.statuses)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.reasons)?;
        out.push_sql(
            ") AS t(id, connection_id, org_id, event, token, triggered_at, opportunity_id, \
             to_stage_id, from_stage_id, payload, status, reason) \
             LEFT JOIN stage s ON s.id = t.connection_id) r",
        );
        out.push_sql(M::SQL);
        Ok(())
    }
}
