//! Writes to `connection_health` and `connection_counters` made on the ingest
//! path, and the counter read the health page needs.
//!
//! Counters are per connection, kind and minute, so "last hour" figures are a
//! sum over at most 60 small rows and old rows can be pruned by minute.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

/// Counter kind: a delivery refused for its signature or timestamp.
pub const KIND_REJECTED: &str = "rejected";

/// Adds one to this minute's `kind` counter of the connection.
pub fn bump_counter(conn: &mut PgConnection, connection_id: Uuid, kind: &str) -> QueryResult<()> {
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

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The connection's `kind` count over the last 60 minutes (this one included).
pub fn counter_last_hour(
    conn: &mut PgConnection,
    connection_id: Uuid,
    kind: &str,
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
