//! The `attention_tags` table: which candidates carry the needs-attention
//! tag the service posted, under which name and for which event
//! (docs/contract/results.md). A row lives from the tag's posting until it
//! is taken off (a link posted, the interview closed or erased).

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::attention_tags;

/// The tag posted on the candidate, if any.
pub fn posted(
    conn: &mut PgConnection,
    connection_id: Uuid,
    opp: &str,
) -> QueryResult<Option<String>> {
    attention_tags::table
        .find((connection_id, opp))
        .select(attention_tags::tag)
        .first(conn)
        .optional()
}

/// The tag is on the candidate (kept as first posted).
pub fn record(
    conn: &mut PgConnection,
    connection_id: Uuid,
    opp: &str,
    tag: &str,
    event_id: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(attention_tags::table)
        .values((
            attention_tags::connection_id.eq(connection_id),
            attention_tags::opportunity_id.eq(opp),
            attention_tags::tag.eq(tag),
            attention_tags::event_id.eq(event_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|_| ())
}

/// The tag is off the candidate (or the candidate is erased).
pub fn clear(conn: &mut PgConnection, connection_id: Uuid, opp: &str) -> QueryResult<()> {
    diesel::delete(attention_tags::table.find((connection_id, opp)))
        .execute(conn)
        .map(|_| ())
}
