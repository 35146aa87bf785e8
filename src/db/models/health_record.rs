//! The `connection_health` and `connection_counters` tables: their one
//! writer, and the counter read the health endpoint needs (docs/contract/health.md).
//!
//! What is written: the supervisor's heartbeat and restarts, the last Lever
//! success and error and throttling (account supervisors and the registry),
//! the last verified delivery and refused deliveries (ingest). The endpoint
//! reads these rows; it never asks an actor.
//!
//! Counters are per connection, kind and minute, so "last hour" figures are a
//! sum over at most 60 small rows and old rows can be pruned by minute.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel::upsert::excluded;
use uuid::Uuid;

use crate::db::schema::connection_health as health;
pub use crate::domain::status::CounterKind;

/// Adds one to this minute's `kind` counter of the connection.
pub fn bump_counter(
    conn: &mut PgConnection,
    connection_id: Uuid,
    kind: CounterKind,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO connection_counters (connection_id, kind, minute, count) \
         VALUES ($1, $2, date_trunc('minute', now()), 1) \
         ON CONFLICT (connection_id, kind, minute) \
         DO UPDATE SET count = connection_counters.count + 1",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(kind)
    .execute(conn)?;
    Ok(())
}

/// Adds `(connection, minute, count)` rows to the `kind` counters in one
/// statement. Rows of connections deleted meanwhile are skipped.
pub fn add_counts(
    conn: &mut PgConnection,
    kind: CounterKind,
    rows: &[(Uuid, DateTime<Utc>, i32)],
) -> QueryResult<usize> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let minutes: Vec<DateTime<Utc>> = rows.iter().map(|r| r.1).collect();
    let counts: Vec<i32> = rows.iter().map(|r| r.2).collect();
    diesel::sql_query(
        "INSERT INTO connection_counters (connection_id, kind, minute, count) \
         SELECT t.c, $1, t.m, t.n FROM unnest($2::uuid[], $3::timestamptz[], $4::int4[]) AS t(c, m, n) \
         JOIN connections ON connections.id = t.c \
         ON CONFLICT (connection_id, kind, minute) \
         DO UPDATE SET count = connection_counters.count + excluded.count",
    )
    .bind::<Text, _>(kind)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<diesel::sql_types::Timestamptz>, _>(minutes)
    .bind::<Array<diesel::sql_types::Integer>, _>(counts)
    .execute(conn)
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The connection's `kind` count over the last 60 minutes (this one included).
pub fn counter_last_hour(
    conn: &mut PgConnection,
    connection_id: Uuid,
    kind: CounterKind,
) -> QueryResult<i64> {
    let row: Total = diesel::sql_query(
        "SELECT COALESCE(SUM(count), 0)::BIGINT AS total FROM connection_counters \
         WHERE connection_id = $1 AND kind = $2 \
           AND minute > date_trunc('minute', now()) - interval '60 minutes'",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(kind)
    .get_result(conn)?;
    Ok(row.total)
}

/// Records that a verified delivery just arrived (`last_received_at = now()`),
/// creating the health row if the supervisor has not yet.
pub fn touch_received(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO connection_health (connection_id, last_received_at) VALUES ($1, now()) \
         ON CONFLICT (connection_id) DO UPDATE SET last_received_at = excluded.last_received_at",
    )
    .bind::<SqlUuid, _>(connection_id)
    .execute(conn)?;
    Ok(())
}

/// The supervisor is alive (and which instance runs it).
pub fn heartbeat(
    conn: &mut PgConnection,
    id: Uuid,
    instance: &str,
    running: bool,
    restarts: i32,
) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::insert_into(health::table)
        .values((
            health::connection_id.eq(id),
            health::supervisor_running.eq(running),
            health::instance.eq(instance),
            health::heartbeat_at.eq(now),
            health::restarts.eq(restarts),
        ))
        .on_conflict(health::connection_id)
        .do_update()
        .set((
            health::supervisor_running.eq(excluded(health::supervisor_running)),
            health::instance.eq(excluded(health::instance)),
            health::heartbeat_at.eq(excluded(health::heartbeat_at)),
            health::restarts.eq(excluded(health::restarts)),
            health::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Lever answered this account's work.
pub fn success(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::insert_into(health::table)
        .values((
            health::connection_id.eq(id),
            health::last_success_at.eq(now),
        ))
        .on_conflict(health::connection_id)
        .do_update()
        .set((
            health::last_success_at.eq(now),
            health::throttled_until.eq(None::<DateTime<Utc>>),
            health::updated_at.eq(now),
        ))
        .execute(conn)
}

/// A Lever error; `throttled_until` when the whole account pauses.
pub fn error(
    conn: &mut PgConnection,
    id: Uuid,
    message: &str,
    throttled_until: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    let now = Utc::now();
    diesel::insert_into(health::table)
        .values((
            health::connection_id.eq(id),
            health::last_error.eq(message),
            health::last_error_at.eq(now),
            health::throttled_until.eq(throttled_until),
        ))
        .on_conflict(health::connection_id)
        .do_update()
        .set((
            health::last_error.eq(message),
            health::last_error_at.eq(now),
            health::throttled_until.eq(throttled_until),
            health::updated_at.eq(now),
        ))
        .execute(conn)?;
    bump_counter(conn, id, CounterKind::LeverError)
}

/// Heartbeats of many running supervisors of this instance in one statement
/// (the registry's periodic beat).
pub fn heartbeat_all(conn: &mut PgConnection, ids: &[Uuid], instance: &str) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO connection_health (connection_id, supervisor_running, instance, heartbeat_at) \
         SELECT id, true, $2, now() FROM unnest($1::uuid[]) AS t(id) \
         ON CONFLICT (connection_id) DO UPDATE SET supervisor_running = true, \
         instance = excluded.instance, heartbeat_at = excluded.heartbeat_at, updated_at = now()",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(instance)
    .execute(conn)
}

/// Retention: deletes up to `limit` counter rows of minutes before `cutoff`.
pub fn prune_counters(
    c: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM connection_counters WHERE ctid IN (SELECT ctid FROM connection_counters \
         WHERE minute < $1 LIMIT $2)",
        cutoff,
        limit,
    )
}
