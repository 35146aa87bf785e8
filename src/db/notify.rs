//! The cross-instance wake-up as SQL: `NOTIFY arkiter_work, '<connection id>'`,
//! delivered when the caller's transaction commits. The listening side is
//! the machinery's `wake` module; table writers that make work due send it
//! in the same transaction, so the wake-up can never arrive before the row.

use diesel::prelude::*;

/// The channel every instance listens on.
pub const CHANNEL: &str = "arkiter_work";

/// The channel on which the `connections` table's insert trigger announces
/// a new connection's id (every instance adds it to its roster).
pub const NEW_CONNECTION_CHANNEL: &str = "arkiter_connections";

/// The channel on which triggers on `connections` and `lever_webhooks`
/// announce that what ingest caches of a connection changed (its status,
/// stage or signature tokens): every instance forgets its copy.
pub const CHANGED_CONNECTION_CHANNEL: &str = "arkiter_connection_changed";

/// Sends the cross-instance wake-up for `connection` when the caller's
/// transaction commits.
pub fn work_due(conn: &mut PgConnection, connection: uuid::Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(CHANNEL)
        .bind::<diesel::sql_types::Text, _>(connection.to_string())
        .execute(conn)?;
    Ok(())
}
