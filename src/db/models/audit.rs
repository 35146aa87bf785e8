//! The `audit_log` table: who did what in an org (docs/contract/audit.md).
//! Rows are written by [`record`] inside the transaction of the action they
//! record, listed oldest first, and kept (they are the org's record, a few
//! rows per admin action). An erase replaces the candidate's id in
//! `target` by its keyed hash ([`forget_candidate`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::page::{Cursor, Page, PageRequest};
use crate::db::schema::audit_log;

/// One admin action as recorded.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditEntry {
    pub id: Uuid,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub summary: String,
}

/// What an action writes: no secret and no candidate data in `summary`.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub summary: &'a str,
}

/// Adds one row; call it inside the action's own transaction.
pub fn record(conn: &mut PgConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .map(drop)
}

/// One page of the org's log, oldest first.
pub fn list(
    conn: &mut PgConnection,
    org_id: Uuid,
    page: PageRequest,
) -> QueryResult<Page<AuditEntry>> {
    let mut q = audit_log::table
        .filter(audit_log::org_id.eq(org_id))
        .select(AuditEntry::as_select())
        .order((audit_log::created_at, audit_log::id))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(c) = page.after {
        q = q.filter(
            audit_log::created_at
                .gt(c.t)
                .or(audit_log::created_at.eq(c.t).and(audit_log::id.gt(c.id))),
        );
    }
    let rows = q.load(conn)?;
    Ok(page.finish(rows, |e| Cursor {
        t: e.created_at,
        id: e.id,
    }))
}

/// Rows of the connection's org naming the erased candidate
/// `opportunity_id` name its `key` instead.
pub fn forget_candidate(
    conn: &mut PgConnection,
    connection_id: Uuid,
    opportunity_id: &str,
    key: &str,
) -> QueryResult<usize> {
    use crate::db::schema::connections;
    let org = connections::table
        .find(connection_id)
        .select(connections::org_id);
    diesel::update(
        audit_log::table
            .filter(audit_log::org_id.eq_any(org))
            .filter(audit_log::target.eq(opportunity_id)),
    )
    .set(audit_log::target.eq(key))
    .execute(conn)
}
