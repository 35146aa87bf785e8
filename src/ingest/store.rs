//! The inbox rows ingest writes: a verified delivery as an owned row, and
//! the insert of a batch of them with their cross-instance wake-ups.
//!
//! One statement for any batch size (`INSERT .. SELECT FROM unnest` of one
//! array per column) with a static query id, so each pooled connection
//! prepares it once and Postgres never re-parses or re-plans it. The body is
//! stored as the text received (Postgres does not parse it).
//!
//! A delivery that ingest's cache judged `other_stage` is checked against
//! the connection's stage as committed, in the same statement: a stage
//! changed on another instance moments ago (the cache lags by up to its TTL)
//! never turns a delivery into the new stage into a lost `ignored` one. The
//! stage is read once per connection that has such rows in the batch (a
//! materialized lookup of those ids, none when the batch has no such row),
//! not once per row.

use std::collections::{HashMap, HashSet};

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::delivery::reasons::OTHER_STAGE;
use crate::db::models::lever_event::EventStatus;
use crate::domain::ids::ConnectionId;
use crate::wake::LocalAccounts;

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

/// Inserts `rows` in one statement (skipping any either dedupe identity
/// already holds, within the batch too); returns the ids inserted. Then
/// wakes the other instances owning accounts with new pending work (those
/// running here are woken through the channel by the request).
pub fn insert_batch(
    c: &mut PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
) -> QueryResult<HashSet<Uuid>> {
    // One statement, so no BEGIN/COMMIT round trips: in autocommit it is its
    // own transaction, and its rows come back only after the commit (and
    // its WAL flush) is done.
    let stored: HashMap<Uuid, String> = InsertEvents::new(rows)
        .load::<(Uuid, String)>(c)?
        .into_iter()
        .collect();
    let mut woken = HashSet::new();
    for r in rows {
        let Some(status) = stored.get(&r.id) else {
            continue;
        };
        let promoted = r.status != EventStatus::Pending && status == EventStatus::Pending.as_str();
        if promoted {
            // This instance's cached stage was stale (changed elsewhere).
            super::cache::invalidate(ConnectionId(r.connection_id));
        }
        let pending = r.status == EventStatus::Pending;
        if promoted || (pending && !local.contains(&ConnectionId(r.connection_id))) {
            woken.insert(r.connection_id);
        }
    }
    notify(c, &woken);
    Ok(stored.into_keys().collect())
}

/// One `NOTIFY` per woken connection, sent after the rows committed (so a
/// woken instance sees them) in a transaction of its own that waits for no
/// disk flush: notifying transactions commit one at a time, and holding
/// that lock across the batch's own flush would serialize the batches. A
/// wake-up lost to a crash here only delays work: the registry also polls.
fn notify(c: &mut PgConnection, woken: &HashSet<Uuid>) {
    if woken.is_empty() {
        return;
    }
    let sent = c.transaction(|c| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(c)?;
        woken.iter().try_for_each(|id| crate::wake::notify(c, *id))
    });
    if let Err(e) = sent
        && let Some(suppressed) = crate::db::errlog::allow("ingest_notify")
    {
        tracing::warn!(error = %e, suppressed, "could not send wake-ups; the pipeline's polling finds the work");
    }
}

/// Inserts one row in its own transaction; whether it was new.
pub fn insert_one(
    c: &mut PgConnection,
    row: &OwnedEvent,
    local: &LocalAccounts,
) -> QueryResult<bool> {
    Ok(insert_batch(c, std::slice::from_ref(row), local)?.contains(&row.id))
}

/// The batch insert as a query type of its own, with a static query id, so
/// diesel keeps it prepared on each connection (a `sql_query` is parsed and
/// planned by Postgres on every call). One array per column.
struct InsertEvents<'a> {
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
    statuses: Vec<&'a str>,
    reasons: Vec<Option<&'a str>>,
    /// The connections whose stage the `other_stage` rows are checked against.
    recheck: Vec<Uuid>,
}

impl<'a> InsertEvents<'a> {
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
            statuses: rows.iter().map(|r| r.status.as_str()).collect(),
            reasons: rows.iter().map(|r| r.reason).collect(),
            recheck: rows
                .iter()
                .filter(|r| r.reason == Some(OTHER_STAGE))
                .map(|r| r.connection_id)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect(),
        }
    }
}

/// The cache key: one prepared statement per connection for every batch.
struct InsertEventsId;

impl QueryId for InsertEvents<'_> {
    type QueryId = InsertEventsId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for InsertEvents<'_> {
    type SqlType = (SqlUuid, Text);
}

impl<C> RunQueryDsl<C> for InsertEvents<'_> {}

impl QueryFragment<Pg> for InsertEvents<'_> {
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
             CASE WHEN promote THEN 'pending' ELSE status END, \
             CASE WHEN promote THEN NULL ELSE reason END \
             FROM (SELECT t.*, coalesce(t.reason = 'other_stage' AND s.stage_id = t.to_stage_id, false) \
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
             LEFT JOIN stage s ON s.id = t.connection_id) r \
             ON CONFLICT DO NOTHING RETURNING id, status",
        );
        Ok(())
    }
}
