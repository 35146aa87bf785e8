//! The `lever_calls` table: every HTTP attempt a unit of work made to Lever
//! for a candidate (docs/contract/timeline.md). Rows name the candidate by
//! its keyed hash, never its id; they are written in batches
//! ([`insert_batch`]), read for one candidate's timeline, deleted with an
//! erase and pruned with retention.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int2, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::schema::lever_calls;

/// One attempt about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    pub connection_id: Uuid,
    pub candidate_key: String,
    pub unit_id: Uuid,
    pub route: String,
    pub status: Option<i16>,
    pub duration_ms: i32,
    pub attempt: i16,
    pub sent_at: DateTime<Utc>,
}

/// One stored attempt.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lever_calls, check_for_backend(diesel::pg::Pg))]
pub struct CallRecord {
    pub unit_id: Uuid,
    pub route: String,
    pub status: Option<i16>,
    pub duration_ms: i32,
    pub attempt: i16,
    pub sent_at: DateTime<Utc>,
}

/// Stores `calls` in one statement, but those of a candidate erased
/// meanwhile (a unit's calls may reach the batch after its own erase).
pub fn insert_batch(c: &mut PgConnection, calls: &[NewCall]) -> QueryResult<usize> {
    if calls.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&NewCall) -> String| calls.iter().map(f).collect::<Vec<String>>();
    diesel::sql_query(
        "INSERT INTO lever_calls (connection_id, candidate_key, unit_id, route, status, \
           duration_ms, attempt, sent_at) \
         SELECT r.* FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::int2[], \
           $6::int4[], $7::int2[], $8::timestamptz[]) \
           AS r(connection_id, candidate_key, unit_id, route, status, duration_ms, attempt, sent_at) \
         WHERE NOT EXISTS (SELECT 1 FROM erased_candidates e \
           WHERE e.connection_id = r.connection_id AND e.opportunity_key = r.candidate_key)",
    )
    .bind::<Array<SqlUuid>, _>(calls.iter().map(|r| r.connection_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(col(|r| r.candidate_key.clone()))
    .bind::<Array<SqlUuid>, _>(calls.iter().map(|r| r.unit_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(col(|r| r.route.clone()))
    .bind::<Array<Nullable<Int2>>, _>(calls.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind::<Array<Int4>, _>(calls.iter().map(|r| r.duration_ms).collect::<Vec<_>>())
    .bind::<Array<Int2>, _>(calls.iter().map(|r| r.attempt).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(calls.iter().map(|r| r.sent_at).collect::<Vec<_>>())
    .execute(c)
}

/// The candidate's calls on one connection, oldest first, at most `limit`.
pub fn of_candidate(
    c: &mut PgConnection,
    connection_id: Uuid,
    candidate_key: &str,
    limit: i64,
) -> QueryResult<Vec<CallRecord>> {
    lever_calls::table
        .filter(lever_calls::connection_id.eq(connection_id))
        .filter(lever_calls::candidate_key.eq(candidate_key))
        .order(lever_calls::sent_at.desc())
        .limit(limit)
        .select(CallRecord::as_select())
        .load(c)
        .map(|mut rows| {
            rows.reverse();
            rows
        })
}

/// The erase of a candidate takes its call records with it.
pub fn erase(c: &mut PgConnection, connection_id: Uuid, candidate_key: &str) -> QueryResult<usize> {
    diesel::delete(
        lever_calls::table
            .filter(lever_calls::connection_id.eq(connection_id))
            .filter(lever_calls::candidate_key.eq(candidate_key)),
    )
    .execute(c)
}

/// Retention: up to `limit` records sent before `cutoff`.
pub fn prune(c: &mut PgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM lever_calls WHERE id IN \
         (SELECT id FROM lever_calls WHERE sent_at < $1 ORDER BY sent_at LIMIT $2)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .execute(c)
}
