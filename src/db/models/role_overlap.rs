//! The `role_overlaps` table: postings that two or more roles matched at
//! the same rule of resolution (the oldest role took them), for the health
//! report's `role_overlap` (docs/contract/roles.md). Written by the link
//! step only when it finds an overlap; a change to the org's roles clears
//! the org's rows, and the next resolution records what still overlaps.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::role_overlaps;

/// One overlap as the health report shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = role_overlaps, check_for_backend(diesel::pg::Pg))]
pub struct RoleOverlap {
    pub posting_id: String,
    pub rule: String,
    /// The chosen role first.
    pub roles: Vec<String>,
    pub seen_at: DateTime<Utc>,
}

/// Records (or refreshes) the overlap found for a posting.
pub fn record(
    conn: &mut PgConnection,
    connection_id: Uuid,
    org_id: Uuid,
    posting_id: &str,
    rule: &str,
    roles: &[String],
) -> QueryResult<()> {
    diesel::insert_into(role_overlaps::table)
        .values((
            role_overlaps::connection_id.eq(connection_id),
            role_overlaps::org_id.eq(org_id),
            role_overlaps::posting_id.eq(posting_id),
            role_overlaps::rule.eq(rule),
            role_overlaps::roles.eq(roles),
        ))
        .on_conflict((role_overlaps::connection_id, role_overlaps::posting_id))
        .do_update()
        .set((
            role_overlaps::rule.eq(rule),
            role_overlaps::roles.eq(roles),
            role_overlaps::seen_at.eq(Utc::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The org's roles changed: what overlapped may not any more.
pub fn clear_org(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<()> {
    diesel::delete(role_overlaps::table.filter(role_overlaps::org_id.eq(org_id)))
        .execute(conn)
        .map(|_| ())
}

/// The connection's overlaps, newest first (at most `limit`).
pub fn of_connection(
    conn: &mut PgConnection,
    connection_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<RoleOverlap>> {
    role_overlaps::table
        .filter(role_overlaps::connection_id.eq(connection_id))
        .order(role_overlaps::seen_at.desc())
        .limit(limit)
        .select(RoleOverlap::as_select())
        .load(conn)
}
