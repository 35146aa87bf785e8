//! The `console_sessions` table: one row per signed-in console session,
//! keyed by the SHA-256 of the cookie's random value (the value itself is
//! never stored), with the key it signed in with (never the key's secret),
//! its org, role and CSRF token. A row goes with its key (`ON DELETE
//! CASCADE`), so deleting a key ends its sessions at once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::console_sessions;

/// A live session as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = console_sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub key_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    /// `super`, `admin` or `member`.
    pub role: String,
    pub csrf_token: String,
}

/// A session about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub id_sha256: &'a [u8],
    pub key_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub role: &'a str,
    pub csrf_token: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// The session whose cookie digests to `id_sha256`, if it has not expired.
pub fn find_live(c: &mut PgConnection, id_sha256: &[u8]) -> QueryResult<Option<SessionRow>> {
    console_sessions::table
        .find(id_sha256)
        .filter(console_sessions::expires_at.gt(Utc::now()))
        .select(SessionRow::as_select())
        .first(c)
        .optional()
}

/// Stores a new session, clearing expired ones as new ones come.
pub fn insert(c: &mut PgConnection, s: &NewSession<'_>) -> QueryResult<usize> {
    diesel::delete(console_sessions::table.filter(console_sessions::expires_at.lt(Utc::now())))
        .execute(c)?;
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id_sha256.eq(s.id_sha256),
            console_sessions::key_id.eq(s.key_id),
            console_sessions::org_id.eq(s.org_id),
            console_sessions::role.eq(s.role),
            console_sessions::csrf_token.eq(s.csrf_token),
            console_sessions::expires_at.eq(s.expires_at),
        ))
        .execute(c)
}

/// Ends a session now.
pub fn delete(c: &mut PgConnection, id_sha256: &[u8]) -> QueryResult<usize> {
    diesel::delete(console_sessions::table.find(id_sha256)).execute(c)
}

/// Retention: deletes up to `limit` sessions that expired before `cutoff`.
pub fn prune(c: &mut PgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM console_sessions WHERE id_sha256 IN (SELECT id_sha256 FROM console_sessions \
         WHERE expires_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
}
