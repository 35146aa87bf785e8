//! The `connections` table: each org's link to one Lever account, with its
//! (encrypted) tokens, stage, tag names and status.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::connections;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connections, check_for_backend(diesel::pg::Pg))]
pub struct Connection {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: String,
    pub lever_account_id: Option<String>,
    pub stage_id: Option<String>,
    pub stage_name: String,
    pub stage_found: bool,
    pub tag_link_created: String,
    pub tag_completed: String,
    pub perform_as: Option<String>,
    pub access_token_enc: Option<Vec<u8>>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub token_state: String,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub scopes: Option<String>,
    pub problems: serde_json::Value,
    pub connected_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Connection> {
        connections::table
            .find(id)
            .select(Connection::as_select())
            .first(conn)
    }

    pub fn find_by_org(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<Option<Connection>> {
        connections::table
            .filter(connections::org_id.eq(org_id))
            .select(Connection::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the row for a token refresh (one at a time across instances).
    pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Connection> {
        connections::table
            .find(id)
            .select(Connection::as_select())
            .for_update()
            .first(conn)
    }

    /// The org's connection, created `pending` if it has none yet.
    pub fn get_or_create(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<Connection> {
        diesel::insert_into(connections::table)
            .values((
                connections::id.eq(Uuid::new_v4()),
                connections::org_id.eq(org_id),
            ))
            .on_conflict(connections::org_id)
            .do_nothing()
            .execute(conn)?;
        connections::table
            .filter(connections::org_id.eq(org_id))
            .select(Connection::as_select())
            .first(conn)
    }

    /// Connections whose work should run (not disconnected, holding tokens).
    pub fn workable_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
        connections::table
            .filter(connections::status.eq_any(["active", "needs_setup"]))
            .select(connections::id)
            .load(conn)
    }
}
