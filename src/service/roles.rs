//! Arkiter roles and the Lever jobs mapped to them, and which role a posting
//! resolves to (never calling Lever). The mapping rules: entries are 1-200
//! characters, at most 500 per role, never twice in one role nor in two
//! roles of an org (titles compared trimmed and case-insensitively), and an
//! org has at most one fallback role (see `docs/contract/roles.md`).

use crate::db::models::page::Page;
use crate::db::models::role::{self as model, Role, RoleWithJobs};
use crate::domain::ids::OrgId;
use crate::domain::roles::{RoleEntry, Rule, entry_key, resolve};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::list::{List, ListQuery, org_page};
use crate::service::validate;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const MAX_ENTRIES: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    /// 1-200 characters.
    pub name: String,
    /// Lever job titles and/or posting ids; at most 500, each 1-200 characters.
    #[serde(default)]
    pub ats_jobs: Vec<String>,
    /// Use this role for postings no other role maps (at most one per org).
    #[serde(default)]
    pub fallback: bool,
    /// Days an unopened link of this role lives (1-365), over the
    /// connection's `lifecycle.link_ttl_days`; absent or null: the
    /// connection's.
    pub link_ttl_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRole {
    pub name: Option<String>,
    pub ats_jobs: Option<Vec<String>>,
    pub fallback: Option<bool>,
    /// 1-365, or null to use the connection's.
    #[serde(default, deserialize_with = "validate::present")]
    pub link_ttl_days: Option<Option<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: Uuid,
    pub name: String,
    pub ats_jobs: Vec<String>,
    pub fallback: bool,
    /// Days an unopened link of this role lives; null: the connection's.
    pub link_ttl_days: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RoleWithJobs> for RoleView {
    fn from(r: RoleWithJobs) -> Self {
        Self {
            id: r.role.id,
            name: r.role.name,
            ats_jobs: r.ats_jobs,
            fallback: r.role.fallback,
            link_ttl_days: r.role.link_ttl_days,
            created_at: r.role.created_at,
            updated_at: r.role.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    pub posting_id: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveView {
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
    pub rule: Rule,
}

/// Trims and checks entries: 1-200 characters each, at most 500, no repeats.
fn clean_entries(entries: &[String]) -> Result<Vec<String>, ServiceError> {
    if entries.len() > MAX_ENTRIES {
        return Err(ServiceError::invalid(
            "ats_jobs",
            format!(
                "`ats_jobs` has {} entries; the most is {MAX_ENTRIES}",
                entries.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let e = validate::bounded_text("ats_jobs[]", e, 1, 200)?;
        if !seen.insert(entry_key(&e)) {
            return Err(ServiceError::invalid(
                "ats_jobs",
                format!("`ats_jobs` lists `{e}` twice"),
            ));
        }
        out.push(e);
    }
    Ok(out)
}

/// Conflict checks inside the write transaction; the unique indexes back them
/// up against races (a unique violation is a 409 too, see `ServiceError`).
fn check_conflicts(
    conn: &mut diesel::PgConnection,
    org: Uuid,
    role: Option<Uuid>,
    entries: Option<&[String]>,
    fallback: bool,
) -> Result<(), ServiceError> {
    if let Some(entries) = entries
        && let Some((entry, other)) = model::mapped_elsewhere(conn, org, entries, role)?
    {
        return Err(ServiceError::conflict(format!(
            "`{entry}` is already mapped to role `{other}`; remove it there first"
        ))
        .on_field("ats_jobs"));
    }
    if fallback && let Some(other) = Role::other_fallback(conn, org, role)? {
        return Err(ServiceError::conflict(format!(
            "role `{}` is already the fallback role; an org has at most one",
            other.name
        ))
        .on_field("fallback"));
    }
    Ok(())
}

/// Creates a role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &CreateRole,
) -> Result<RoleView, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let name = validate::name("name", &body.name)?;
    let entries = clean_entries(&body.ats_jobs)?;
    let fallback = body.fallback;
    let ttl = validate::ttl_days("link_ttl_days", body.link_ttl_days)?;
    let role = state
        .db
        .transaction(move |conn| -> Result<_, ServiceError> {
            check_conflicts(conn, org.0, None, Some(&entries), fallback)?;
            let role = Role::insert(conn, org.0, &name, fallback, ttl)?;
            model::replace_jobs(conn, org.0, role.id, &entries)?;
            Ok(RoleWithJobs {
                role,
                ats_jobs: entries,
            })
        })
        .await?;
    Ok(RoleView::from(role))
}

/// One page of `org`'s roles.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ListQuery,
) -> Result<List<RoleView>, ServiceError> {
    let load = move |conn: &mut diesel::PgConnection, page| {
        let page = Role::list(conn, org.0, page)?;
        Ok(Page {
            items: model::with_jobs(conn, page.items)?,
            next: page.next,
        })
    };
    org_page(
        state,
        caller,
        org,
        KeyRole::Member,
        query,
        load,
        RoleView::from,
    )
    .await
}

async fn load_role(state: &AppState, org: OrgId, id: Uuid) -> Result<RoleWithJobs, ServiceError> {
    state
        .db
        .run(move |conn| {
            let role = Role::find(conn, org.0, id)?;
            Ok(model::with_jobs(conn, vec![role])?)
        })
        .await
        .map_err(|e| ServiceError::from(e).naming("role"))?
        .pop()
        .ok_or_else(|| ServiceError::not_found("role"))
}

/// One role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn get(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<RoleView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    Ok(load_role(state, org, id).await?.into())
}

/// Changes a role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
    body: &PatchRole,
) -> Result<RoleView, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let name = body
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    let entries = body.ats_jobs.as_deref().map(clean_entries).transpose()?;
    let fallback = body.fallback;
    let ttl = body
        .link_ttl_days
        .map(|d| validate::ttl_days("link_ttl_days", d))
        .transpose()?;
    let role = state
        .db
        .transaction(move |conn| -> Result<_, ServiceError> {
            Role::find(conn, org.0, id).map_err(|e| ServiceError::from(e).naming("role"))?;
            check_conflicts(
                conn,
                org.0,
                Some(id),
                entries.as_deref(),
                fallback == Some(true),
            )?;
            let role = Role::update(conn, id, name.as_deref(), fallback, ttl)?;
            if let Some(e) = &entries {
                model::replace_jobs(conn, org.0, id, e)?;
            }
            Ok(model::with_jobs(conn, vec![role])?)
        })
        .await?
        .pop()
        .ok_or_else(|| ServiceError::not_found("role"))?;
    Ok(role.into())
}

/// Deletes a role of `org`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let n = state
        .db
        .run(move |conn| Ok(Role::delete(conn, org.0, id)?))
        .await?;
    if n == 0 {
        return Err(ServiceError::not_found("role"));
    }
    Ok(())
}

/// Which role a posting of `org` would get.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn resolve_posting(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ResolveQuery,
) -> Result<ResolveView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    let roles = state
        .db
        .run(move |conn| Ok(Role::all_with_jobs(conn, org.0)?))
        .await?;
    let entries: Vec<RoleEntry> = roles.into_iter().map(RoleEntry::from).collect();
    let r = resolve(
        &entries,
        query.posting_id.as_deref(),
        query.title.as_deref(),
    );
    Ok(ResolveView {
        role_id: r.role.as_ref().map(|(id, _)| *id),
        role_name: r.role.map(|(_, n)| n),
        rule: r.rule,
    })
}
