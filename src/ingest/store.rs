//! The inbox rows ingest writes: a verified delivery as an owned row, and
//! the insert of a batch of them with their cross-instance wake-ups.
//!
//! One statement text for any batch size (`INSERT .. SELECT FROM unnest` of
//! one array per column), so each pooled connection prepares it once and
//! Postgres never re-parses or re-plans it. The body is bound as text and
//! cast to JSONB by Postgres, which parses it anyway.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

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

const INSERT: &str = "INSERT INTO lever_events (id, connection_id, org_id, event, token, \
     triggered_at, opportunity_id, to_stage_id, from_stage_id, payload, status, reason) \
     SELECT id, connection_id, org_id, event, token, triggered_at, opportunity_id, \
     to_stage_id, from_stage_id, payload::jsonb, status, reason \
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int8[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
     AS t(id, connection_id, org_id, event, token, triggered_at, opportunity_id, \
     to_stage_id, from_stage_id, payload, status, reason) \
     ON CONFLICT DO NOTHING RETURNING id";

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Inserts `rows` in one transaction (skipping any either dedupe identity
/// already holds, within the batch too); returns the ids inserted. Then
/// wakes the other instances owning accounts with new pending work (those
/// running here are woken through the channel by the request).
pub fn insert_batch(
    c: &mut PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
) -> QueryResult<HashSet<Uuid>> {
    let inserted: HashSet<Uuid> = c
        .transaction(|c| insert_rows(c, rows))?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let woken: HashSet<Uuid> = rows
        .iter()
        .filter(|r| r.status == EventStatus::Pending && inserted.contains(&r.id))
        .filter(|r| !local.contains(&ConnectionId(r.connection_id)))
        .map(|r| r.connection_id)
        .collect();
    notify(c, &woken);
    Ok(inserted)
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
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not send wake-ups; the pipeline's polling finds the work");
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

fn insert_rows(c: &mut PgConnection, rows: &[OwnedEvent]) -> QueryResult<Vec<Inserted>> {
    let col = |f: fn(&OwnedEvent) -> Uuid| rows.iter().map(f).collect::<Vec<_>>();
    let text = |f: fn(&OwnedEvent) -> &str| rows.iter().map(f).collect::<Vec<_>>();
    let opt = |f: fn(&OwnedEvent) -> Option<&str>| rows.iter().map(f).collect::<Vec<_>>();
    diesel::sql_query(INSERT)
        .bind::<Array<SqlUuid>, _>(col(|r| r.id))
        .bind::<Array<SqlUuid>, _>(col(|r| r.connection_id))
        .bind::<Array<SqlUuid>, _>(col(|r| r.org_id))
        .bind::<Array<Text>, _>(text(|r| &r.event))
        .bind::<Array<Text>, _>(text(|r| &r.token))
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.triggered_at).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(opt(|r| r.opportunity_id.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(opt(|r| r.to_stage_id.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(opt(|r| r.from_stage_id.as_deref()))
        .bind::<Array<Text>, _>(text(|r| &r.payload))
        .bind::<Array<Text>, _>(text(|r| r.status.as_str()))
        .bind::<Array<Nullable<Text>>, _>(opt(|r| r.reason))
        .load(c)
}
