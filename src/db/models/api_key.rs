//! The `api_keys` table: org keys, stored as id + SHA-256 digest of the secret.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::page::{Cursor, Page, PageRequest};
use crate::db::schema::api_keys;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub role: String,
    pub label: String,
    pub secret_sha256: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub role: &'a str,
    pub label: &'a str,
    pub secret_sha256: &'a [u8],
}

impl ApiKey {
    pub fn insert(conn: &mut PgConnection, new: &NewApiKey<'_>) -> QueryResult<ApiKey> {
        diesel::insert_into(api_keys::table)
            .values(new)
            .returning(ApiKey::as_returning())
            .get_result(conn)
    }

    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<ApiKey> {
        api_keys::table
            .find(id)
            .select(ApiKey::as_select())
            .first(conn)
    }

    /// Records use, at most once a minute per key, to keep reads from becoming writes.
    pub fn touch(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        let a_minute_ago = Utc::now() - chrono::Duration::minutes(1);
        diesel::update(
            api_keys::table.find(id).filter(
                api_keys::last_used_at
                    .is_null()
                    .or(api_keys::last_used_at.lt(a_minute_ago)),
            ),
        )
        .set(api_keys::last_used_at.eq(Utc::now()))
        .execute(conn)
    }

    pub fn list(
        conn: &mut PgConnection,
        org_id: Uuid,
        page: PageRequest,
    ) -> QueryResult<Page<ApiKey>> {
        let mut q = api_keys::table
            .filter(api_keys::org_id.eq(org_id))
            .select(ApiKey::as_select())
            .order((api_keys::created_at, api_keys::id))
            .limit(page.limit + 1)
            .into_boxed();
        if let Some(c) = page.after {
            q = q.filter(
                api_keys::created_at
                    .gt(c.t)
                    .or(api_keys::created_at.eq(c.t).and(api_keys::id.gt(c.id))),
            );
        }
        let rows = q.load(conn)?;
        Ok(page.finish(rows, |k| Cursor {
            t: k.created_at,
            id: k.id,
        }))
    }

    /// Deletes a key of `org_id`; returns how many rows went (0: unknown here).
    pub fn delete(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> QueryResult<usize> {
        diesel::delete(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::org_id.eq(org_id)),
        )
        .execute(conn)
    }
}
