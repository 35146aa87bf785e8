//! The `roles`, `role_ats_jobs` and `role_ats_tags` tables: Arkiter roles,
//! the Lever job titles / posting ids and the Lever posting tags mapped to
//! them, the trigger stages each is used for and what a pass does.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::page::{Cursor, Page, PageRequest};
use crate::db::schema::{orgs, role_ats_jobs, role_ats_tags, roles};
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
    /// A score at least this passes (0-100); `None`: no outcome.
    pub pass_score: Option<i16>,
    /// Where a passing candidate moves, as the admin named it.
    pub on_pass_stage_id: Option<String>,
    pub on_pass_stage_name: Option<String>,
    /// The trigger stages this role is used for; empty: every one.
    pub stages: Vec<String>,
}

/// What an admin sets on a role beyond its name and mapping entries.
#[derive(Debug, Clone, Default)]
pub struct RoleSettings {
    pub fallback: bool,
    pub link_ttl_days: Option<i32>,
    pub pass_score: Option<i16>,
    pub on_pass_stage_id: Option<String>,
    pub on_pass_stage_name: Option<String>,
    pub stages: Vec<String>,
}

impl Role {
    /// The settings as stored, for a change to start from.
    pub fn settings(&self) -> RoleSettings {
        RoleSettings {
            fallback: self.fallback,
            link_ttl_days: self.link_ttl_days,
            pass_score: self.pass_score,
            on_pass_stage_id: self.on_pass_stage_id.clone(),
            on_pass_stage_name: self.on_pass_stage_name.clone(),
            stages: self.stages.clone(),
        }
    }
}

/// A role with its `ats_jobs` and `ats_tags` in the order given.
#[derive(Debug, Clone)]
pub struct RoleWithJobs {
    pub role: Role,
    pub ats_jobs: Vec<String>,
    pub ats_tags: Vec<String>,
}

impl From<RoleWithJobs> for RoleEntry {
    fn from(r: RoleWithJobs) -> Self {
        RoleEntry {
            id: r.role.id,
            name: r.role.name,
            fallback: r.role.fallback,
            created_at: r.role.created_at,
            ats_jobs: r.ats_jobs,
            ats_tags: r.ats_tags,
            stages: r.role.stages,
        }
    }
}

impl Role {
    pub fn insert(
        conn: &mut PgConnection,
        org_id: Uuid,
        name: &str,
        s: &RoleSettings,
    ) -> QueryResult<Role> {
        diesel::insert_into(roles::table)
            .values((
                roles::id.eq(Uuid::new_v4()),
                roles::org_id.eq(org_id),
                roles::name.eq(name),
                roles::fallback.eq(s.fallback),
                roles::link_ttl_days.eq(s.link_ttl_days),
                roles::pass_score.eq(s.pass_score),
                roles::on_pass_stage_id.eq(&s.on_pass_stage_id),
                roles::on_pass_stage_name.eq(&s.on_pass_stage_name),
                roles::stages.eq(&s.stages),
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

    /// Stores the role's name (when given) and settings.
    pub fn update(
        conn: &mut PgConnection,
        id: Uuid,
        name: Option<&str>,
        s: &RoleSettings,
    ) -> QueryResult<Role> {
        let target = roles::table.find(id);
        if let Some(n) = name {
            diesel::update(target)
                .set(roles::name.eq(n))
                .execute(conn)?;
        }
        diesel::update(target)
            .set((
                roles::fallback.eq(s.fallback),
                roles::link_ttl_days.eq(s.link_ttl_days),
                roles::pass_score.eq(s.pass_score),
                roles::on_pass_stage_id.eq(&s.on_pass_stage_id),
                roles::on_pass_stage_name.eq(&s.on_pass_stage_name),
                roles::stages.eq(&s.stages),
                roles::updated_at.eq(Utc::now()),
            ))
            .returning(Role::as_returning())
            .get_result(conn)
    }

    /// Takes the org's row lock: role writes of one org run one at a time,
    /// so the uniqueness of entries among roles sharing a stage (which no
    /// index can express) holds under concurrent writes.
    pub fn lock_org(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<()> {
        orgs::table
            .find(org_id)
            .select(orgs::id)
            .for_update()
            .first::<Uuid>(conn)
            .map(|_| ())
    }

    /// What a pass does for an interview of role `id`: the pass score and
    /// the next stage as named (a role deleted since: nothing).
    pub fn outcome_settings(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Role>> {
        roles::table
            .find(id)
            .select(Role::as_select())
            .first(conn)
            .optional()
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
    let tag_rows: Vec<(Uuid, String)> = role_ats_tags::table
        .filter(role_ats_tags::role_id.eq_any(&ids))
        .order((role_ats_tags::role_id, role_ats_tags::position))
        .select((role_ats_tags::role_id, role_ats_tags::tag))
        .load(conn)?;
    let mut tags_by_role: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (rid, tag) in tag_rows {
        tags_by_role.entry(rid).or_default().push(tag);
    }
    Ok(rs
        .into_iter()
        .map(|role| RoleWithJobs {
            ats_jobs: by_role.remove(&role.id).unwrap_or_default(),
            ats_tags: tags_by_role.remove(&role.id).unwrap_or_default(),
            role,
        })
        .collect())
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

/// Replaces a role's posting tags with `tags`, in order.
pub fn replace_tags(
    conn: &mut PgConnection,
    org_id: Uuid,
    role_id: Uuid,
    tags: &[String],
) -> QueryResult<()> {
    diesel::delete(role_ats_tags::table.filter(role_ats_tags::role_id.eq(role_id)))
        .execute(conn)?;
    let rows: Vec<_> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                role_ats_tags::org_id.eq(org_id),
                role_ats_tags::role_id.eq(role_id),
                role_ats_tags::position.eq(i as i32),
                role_ats_tags::tag.eq(t.as_str()),
            )
        })
        .collect();
    diesel::insert_into(role_ats_tags::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
}
