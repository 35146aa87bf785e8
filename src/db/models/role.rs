//! The `roles` and `role_ats_jobs` tables: Arkiter roles and the Lever job
//! titles / posting ids mapped to them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::page::{Cursor, Page, PageRequest};
use crate::db::schema::{role_ats_jobs, roles};
use crate::domain::roles::{RoleEntry, entry_key};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles, check_for_backend(diesel::pg::Pg))]
pub struct Role {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub fallback: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Days an unopened link of this role lives; `None`: the connection's.
    pub link_ttl_days: Option<i32>,
}

/// A role with its `ats_jobs` in the order given.
#[derive(Debug, Clone)]
pub struct RoleWithJobs {
    pub role: Role,
    pub ats_jobs: Vec<String>,
}

impl From<RoleWithJobs> for RoleEntry {
    fn from(r: RoleWithJobs) -> Self {
        RoleEntry {
            id: r.role.id,
            name: r.role.name,
            fallback: r.role.fallback,
            created_at: r.role.created_at,
            ats_jobs: r.ats_jobs,
        }
    }
}

impl Role {
    pub fn insert(
        conn: &mut PgConnection,
        org_id: Uuid,
        name: &str,
        fallback: bool,
        link_ttl_days: Option<i32>,
    ) -> QueryResult<Role> {
        diesel::insert_into(roles::table)
            .values((
                roles::id.eq(Uuid::new_v4()),
                roles::org_id.eq(org_id),
                roles::name.eq(name),
                roles::fallback.eq(fallback),
                roles::link_ttl_days.eq(link_ttl_days),
            ))
            .returning(Role::as_returning())
            .get_result(conn)
    }

    pub fn find(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> QueryResult<Role> {
        roles::table
            .filter(roles::id.eq(id))
            .filter(roles::org_id.eq(org_id))
            .select(Role::as_select())
            .first(conn)
    }

    pub fn update(
        conn: &mut PgConnection,
        id: Uuid,
        name: Option<&str>,
        fallback: Option<bool>,
        link_ttl_days: Option<Option<i32>>,
    ) -> QueryResult<Role> {
        let target = roles::table.find(id);
        if let Some(d) = link_ttl_days {
            diesel::update(target)
                .set(roles::link_ttl_days.eq(d))
                .execute(conn)?;
        }
        if let Some(n) = name {
            diesel::update(target)
                .set(roles::name.eq(n))
                .execute(conn)?;
        }
        if let Some(f) = fallback {
            diesel::update(target)
                .set(roles::fallback.eq(f))
                .execute(conn)?;
        }
        diesel::update(target)
            .set(roles::updated_at.eq(Utc::now()))
            .returning(Role::as_returning())
            .get_result(conn)
    }

    /// The role's own link time to live, if it has one (a role deleted
    /// since: none).
    pub fn link_ttl_days(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<i32>> {
        Ok(roles::table
            .find(id)
            .select(roles::link_ttl_days)
            .first::<Option<i32>>(conn)
            .optional()?
            .flatten())
    }

    pub fn delete(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> QueryResult<usize> {
        diesel::delete(
            roles::table
                .filter(roles::id.eq(id))
                .filter(roles::org_id.eq(org_id)),
        )
        .execute(conn)
    }

    /// The org's fallback role other than `except`, if any.
    pub fn other_fallback(
        conn: &mut PgConnection,
        org_id: Uuid,
        except: Option<Uuid>,
    ) -> QueryResult<Option<Role>> {
        let mut q = roles::table
            .filter(roles::org_id.eq(org_id))
            .filter(roles::fallback.eq(true))
            .select(Role::as_select())
            .into_boxed();
        if let Some(id) = except {
            q = q.filter(roles::id.ne(id));
        }
        q.first(conn).optional()
    }

    pub fn list(
        conn: &mut PgConnection,
        org_id: Uuid,
        page: PageRequest,
    ) -> QueryResult<Page<Role>> {
        let mut q = roles::table
            .filter(roles::org_id.eq(org_id))
            .select(Role::as_select())
            .order((roles::created_at, roles::id))
            .limit(page.limit + 1)
            .into_boxed();
        if let Some(c) = page.after {
            q = q.filter(
                roles::created_at
                    .gt(c.t)
                    .or(roles::created_at.eq(c.t).and(roles::id.gt(c.id))),
            );
        }
        let rows = q.load(conn)?;
        Ok(page.finish(rows, |r| Cursor {
            t: r.created_at,
            id: r.id,
        }))
    }

    /// Every role of the org with its entries (for resolution).
    pub fn all_with_jobs(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<Vec<RoleWithJobs>> {
        let rs: Vec<Role> = roles::table
            .filter(roles::org_id.eq(org_id))
            .select(Role::as_select())
            .order((roles::created_at, roles::id))
            .load(conn)?;
        with_jobs(conn, rs)
    }
}

/// Attaches each role's `ats_jobs`.
pub fn with_jobs(conn: &mut PgConnection, rs: Vec<Role>) -> QueryResult<Vec<RoleWithJobs>> {
    let ids: Vec<Uuid> = rs.iter().map(|r| r.id).collect();
    let rows: Vec<(Uuid, String)> = role_ats_jobs::table
        .filter(role_ats_jobs::role_id.eq_any(&ids))
        .order((role_ats_jobs::role_id, role_ats_jobs::position))
        .select((role_ats_jobs::role_id, role_ats_jobs::entry))
        .load(conn)?;
    let mut by_role: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (rid, entry) in rows {
        by_role.entry(rid).or_default().push(entry);
    }
    Ok(rs
        .into_iter()
        .map(|role| RoleWithJobs {
            ats_jobs: by_role.remove(&role.id).unwrap_or_default(),
            role,
        })
        .collect())
}

/// Which role (other than `except`) already maps one of `entries`, if any:
/// `(entry, role name)`.
pub fn mapped_elsewhere(
    conn: &mut PgConnection,
    org_id: Uuid,
    entries: &[String],
    except: Option<Uuid>,
) -> QueryResult<Option<(String, String)>> {
    let keys: Vec<String> = entries.iter().map(|e| entry_key(e)).collect();
    let mut q = role_ats_jobs::table
        .inner_join(roles::table)
        .filter(role_ats_jobs::org_id.eq(org_id))
        .filter(role_ats_jobs::entry_key.eq_any(keys))
        .select((role_ats_jobs::entry, roles::name))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(role_ats_jobs::role_id.ne(id));
    }
    q.first(conn).optional()
}

/// Replaces a role's entries with `entries`, in order.
pub fn replace_jobs(
    conn: &mut PgConnection,
    org_id: Uuid,
    role_id: Uuid,
    entries: &[String],
) -> QueryResult<()> {
    diesel::delete(role_ats_jobs::table.filter(role_ats_jobs::role_id.eq(role_id)))
        .execute(conn)?;
    let rows: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                role_ats_jobs::org_id.eq(org_id),
                role_ats_jobs::role_id.eq(role_id),
                role_ats_jobs::position.eq(i as i32),
                role_ats_jobs::entry.eq(e.as_str()),
                role_ats_jobs::entry_key.eq(entry_key(e)),
            )
        })
        .collect();
    diesel::insert_into(role_ats_jobs::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
}
