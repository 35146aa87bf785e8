//! The `orgs` table: Arkiter organisations, the tenants.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::page::{Cursor, Page, PageRequest};
use crate::db::schema::orgs;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orgs, check_for_backend(diesel::pg::Pg))]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Org {
    pub fn insert(conn: &mut PgConnection, id: Uuid, name: &str) -> QueryResult<Org> {
        diesel::insert_into(orgs::table)
            .values((orgs::id.eq(id), orgs::name.eq(name)))
            .returning(Org::as_returning())
            .get_result(conn)
    }

    /// Every org's id (retention works through the inbox org by org).
    pub fn ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
        orgs::table.select(orgs::id).order(orgs::id).load(conn)
    }

    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Org> {
        orgs::table.find(id).select(Org::as_select()).first(conn)
    }

    pub fn list(conn: &mut PgConnection, page: PageRequest) -> QueryResult<Page<Org>> {
        let mut q = orgs::table
            .select(Org::as_select())
            .order((orgs::created_at, orgs::id))
            .limit(page.limit + 1)
            .into_boxed();
        if let Some(c) = page.after {
            q = q.filter(
                orgs::created_at
                    .gt(c.t)
                    .or(orgs::created_at.eq(c.t).and(orgs::id.gt(c.id))),
            );
        }
        let rows = q.load(conn)?;
        Ok(page.finish(rows, |o| Cursor {
            t: o.created_at,
            id: o.id,
        }))
    }
}
