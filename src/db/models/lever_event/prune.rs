//! Retention's deletes of `lever_events` (docs/contract/retention.md), one
//! org at a time through the org's `(org_id, received_at)` indexes, so a
//! batch reads only rows old enough to go. A row's age is its arrival.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// Which events a batch deletes.
#[derive(Debug, Clone, Copy)]
pub enum Old {
    /// `done` and `ignored`.
    Finished,
    /// `dead` (kept longer: an admin may still replay them).
    Dead,
}

/// Deletes up to `limit` of the org's `which` events that arrived before
/// `cutoff`. The status test is written out (not bound) so that the
/// planner can use the partial index of dead events.
pub fn old(
    c: &mut PgConnection,
    org: Uuid,
    which: Old,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    let status = match which {
        Old::Finished => "status IN ('done', 'ignored')",
        Old::Dead => "status = 'dead'",
    };
    diesel::sql_query(format!(
        "DELETE FROM lever_events WHERE id IN (SELECT id FROM lever_events \
         WHERE org_id = $3 AND {status} AND received_at < $1 LIMIT $2)"
    ))
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .bind::<SqlUuid, _>(org)
    .execute(c)
}
