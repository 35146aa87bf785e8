//! `alert_history`: what the alerts evaluator decided for each connection
//! (a problem opened or resolved, its status changed), kept for the
//! candidates' stories whether or not a destination was told.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// One decision about a connection.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AlertMoment {
    #[diesel(sql_type = SqlUuid)]
    pub connection_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    /// `problem.opened`, `problem.resolved` or `connection.status_changed`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub message: String,
}

/// Records `moments` (one statement).
pub fn record(c: &mut PgConnection, moments: &[AlertMoment]) -> QueryResult<usize> {
    if moments.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&AlertMoment) -> &str| -> Vec<&str> { moments.iter().map(f).collect() };
    diesel::sql_query(
        "INSERT INTO alert_history (connection_id, at, type, code, message) \
         SELECT * FROM unnest($1, $2, $3, $4, $5)",
    )
    .bind::<Array<SqlUuid>, _>(moments.iter().map(|m| m.connection_id).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(moments.iter().map(|m| m.at).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(column(|m| &m.kind))
    .bind::<Array<Text>, _>(column(|m| &m.code))
    .bind::<Array<Text>, _>(column(|m| &m.message))
    .execute(c)
}

/// The decisions about `connections` from `from` to `to`, oldest first, at
/// most `limit`.
pub fn between(
    c: &mut PgConnection,
    connections: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<AlertMoment>> {
    diesel::sql_query(
        "SELECT connection_id, at, type AS kind, code, message FROM alert_history \
         WHERE connection_id = ANY($1) AND at >= $2 AND at <= $3 ORDER BY at LIMIT $4",
    )
    .bind::<Array<SqlUuid>, _>(connections)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .bind::<BigInt, _>(limit)
    .load(c)
}

/// Retention: decisions older than `cutoff`.
pub fn prune(c: &mut PgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM alert_history WHERE id IN \
         (SELECT id FROM alert_history WHERE at < $1 ORDER BY at LIMIT $2)",
        cutoff,
        limit,
    )
}
