//! Ingest's batch insert into `lever_events`: one statement per batch of
//! deliveries, deduplicated by both identities (the delivery `token`, and
//! event + opportunity + to-stage + `triggeredAt`) against the table and
//! within the batch.

use std::collections::{HashMap, HashSet};

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::domain::status::EventStatus;
use crate::domain::status::reasons::OTHER_STAGE;

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
    /// The delivery's trace context (a `traceparent`), when traces are
    /// exported.
    pub trace_parent: Option<String>,
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
#[tracing::instrument(level = "debug", skip_all, fields(rows = rows.len()))]
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
    trace_parents: Vec<Option<&'a str>>,
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
            trace_parents: rows.iter().map(|r| r.trace_parent.as_deref()).collect(),
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
            "WITH stage AS MATERIALIZED (SELECT id, stage_id, stages FROM connections WHERE id = ANY(",
        );
        out.push_bind_param::<Array<SqlUuid>, _>(&self.recheck)?;
        out.push_sql(
            ")) INSERT INTO lever_events (id, connection_id, org_id, event, token, \
             triggered_at, opportunity_id, to_stage_id, from_stage_id, payload, status, reason, \
             trace_parent) \
             SELECT id, connection_id, org_id, event, token, triggered_at, opportunity_id, \
             to_stage_id, from_stage_id, payload, \
             CASE WHEN promote THEN ",
        );
        out.push_bind_param::<Text, _>(&EventStatus::Pending)?;
        out.push_sql(
            " ELSE status END, \
             CASE WHEN promote THEN NULL ELSE reason END, trace_parent \
             FROM (SELECT t.*, coalesce(t.reason = ",
        );
        out.push_bind_param::<Text, _>(&OTHER_STAGE)?;
        out.push_sql(
            " AND (s.stage_id = t.to_stage_id \
                    OR s.stages @> jsonb_build_array(jsonb_build_object('id', t.to_stage_id))), false) \
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
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.trace_parents)?;
        out.push_sql(
            ") AS t(id, connection_id, org_id, event, token, triggered_at, opportunity_id, \
             to_stage_id, from_stage_id, payload, status, reason, trace_parent) \
             LEFT JOIN stage s ON s.id = t.connection_id) r",
        );
        out.push_sql(M::SQL);
        Ok(())
    }
}
