//! Retention's deletes of `lever_events` (docs/contract/retention.md), one
//! org at a time through the org's `(org_id, received_at)` indexes, so a
//! batch reads only rows old enough to go. A row's age is its arrival.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// Deletes up to `limit` of the org's finished events (`done`, `ignored`)
/// that arrived before `cutoff`.
pub fn finished(
    c: &mut PgConnection,
    org: Uuid,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    batch(
        c,
        "DELETE FROM lever_events WHERE id IN (SELECT id FROM lever_events \
         WHERE org_id = $3 AND received_at < $1 AND status IN ('done', 'ignored') LIMIT $2)",
        org,
        cutoff,
        limit,
    )
}

/// Deletes up to `limit` of the org's `dead` events that arrived before
/// `cutoff` (kept longer than finished ones: an admin may still replay them).
pub fn dead(
    c: &mut PgConnection,
    org: Uuid,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    batch(
        c,
        "DELETE FROM lever_events WHERE id IN (SELECT id FROM lever_events \
         WHERE org_id = $3 AND status = 'dead' AND received_at < $1 LIMIT $2)",
        org,
        cutoff,
        limit,
    )
}

fn batch(
    c: &mut PgConnection,
    sql: &str,
    org: Uuid,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(sql)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(limit)
        .bind::<SqlUuid, _>(org)
        .execute(c)
}
