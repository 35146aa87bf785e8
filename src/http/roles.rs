//! `/api/v1/orgs/{org}/roles`: Arkiter roles and the Lever jobs mapped to them
//! (SPEC §3.2, §3.3), plus `roles/resolve`, which never calls Lever.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{Caller, KeyRole};
use super::error::{ApiError, ErrorBody};
use super::pagination::{List, ListQuery, org_page};
use super::validate;
use crate::app::AppState;
use crate::db::models::page::Page;
use crate::db::models::role::{self as model, Role, RoleWithJobs};
use crate::domain::ids::OrgId;
use crate::domain::roles::{RoleEntry, Rule, entry_key, resolve};
use crate::http::json::Json;

const MAX_ENTRIES: usize = 500;

pub fn config(cfg: &mut web::ServiceConfig) {
    // `resolve` before `{role_id}`, which would otherwise claim the path.
    cfg.service(resolve_role)
        .service(create_role)
        .service(list_roles)
        .service(get_role)
        .service(patch_role)
        .service(delete_role);
}

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
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRole {
    pub name: Option<String>,
    pub ats_jobs: Option<Vec<String>>,
    pub fallback: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: Uuid,
    pub name: String,
    pub ats_jobs: Vec<String>,
    pub fallback: bool,
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
fn clean_entries(entries: &[String]) -> Result<Vec<String>, ApiError> {
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::Validation(format!(
            "`ats_jobs` has {} entries; the most is {MAX_ENTRIES}",
            entries.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let e = validate::bounded_text("ats_jobs[]", e, 1, 200)?;
        if !seen.insert(entry_key(&e)) {
            return Err(ApiError::Validation(format!(
                "`ats_jobs` lists `{e}` twice"
            )));
        }
        out.push(e);
    }
    Ok(out)
}

/// Conflict checks inside the write transaction; the unique indexes back them
/// up against races (a unique violation is a 409 too, see `ApiError`).
fn check_conflicts(
    conn: &mut diesel::PgConnection,
    org: Uuid,
    role: Option<Uuid>,
    entries: Option<&[String]>,
    fallback: bool,
) -> Result<(), ApiError> {
    if let Some(entries) = entries
        && let Some((entry, other)) = model::mapped_elsewhere(conn, org, entries, role)?
    {
        return Err(ApiError::Conflict(format!(
            "`{entry}` is already mapped to role `{other}`; remove it there first"
        )));
    }
    if fallback && let Some(other) = Role::other_fallback(conn, org, role)? {
        return Err(ApiError::Conflict(format!(
            "role `{}` is already the fallback role; an org has at most one",
            other.name
        )));
    }
    Ok(())
}

/// Create a role.
#[utoipa::path(
    params(("org" = Uuid, Path)), request_body = CreateRole,
    responses((status = 201, body = RoleView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/roles")]
pub async fn create_role(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateRole>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    let role = create_for(&state, &caller, org, &body).await?;
    Ok(HttpResponse::Created().json(role))
}

/// Creates a role of `org`. Shared with the console.
pub async fn create_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &CreateRole,
) -> Result<RoleView, ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let name = validate::name("name", &body.name)?;
    let entries = clean_entries(&body.ats_jobs)?;
    let fallback = body.fallback;
    let role = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            check_conflicts(conn, org.0, None, Some(&entries), fallback)?;
            let role = Role::insert(conn, org.0, &name, fallback)?;
            model::replace_jobs(conn, org.0, role.id, &entries)?;
            Ok(RoleWithJobs {
                role,
                ats_jobs: entries,
            })
        })
        .await?;
    Ok(RoleView::from(role))
}

/// List roles.
#[utoipa::path(
    params(("org" = Uuid, Path), ListQuery),
    responses((status = 200, body = List<RoleView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/roles")]
pub async fn list_roles(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<RoleView>>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(list_for(&state, &caller, org, &query).await?))
}

/// One page of `org`'s roles. Shared with the console.
pub async fn list_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ListQuery,
) -> Result<List<RoleView>, ApiError> {
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

async fn load_role(state: &AppState, org: OrgId, id: Uuid) -> Result<RoleWithJobs, ApiError> {
    state
        .db
        .run(move |conn| {
            let role = Role::find(conn, org.0, id)?;
            Ok(model::with_jobs(conn, vec![role])?)
        })
        .await
        .map_err(|e| match ApiError::from(e) {
            ApiError::NotFound(_) => ApiError::not_found("role"),
            other => other,
        })?
        .pop()
        .ok_or_else(|| ApiError::not_found("role"))
}

/// Read a role.
#[utoipa::path(
    params(("org" = Uuid, Path), ("role_id" = Uuid, Path)),
    responses((status = 200, body = RoleView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/roles/{role_id}")]
pub async fn get_role(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<RoleView>, ApiError> {
    let (org, id) = path.into_inner();
    Ok(web::Json(get_for(&state, &caller, OrgId(org), id).await?))
}

/// One role of `org`. Shared with the console.
pub async fn get_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<RoleView, ApiError> {
    caller.require_org(org, KeyRole::Member)?;
    Ok(load_role(state, org, id).await?.into())
}

/// Change a role's name, jobs or fallback flag.
#[utoipa::path(
    params(("org" = Uuid, Path), ("role_id" = Uuid, Path)), request_body = PatchRole,
    responses((status = 200, body = RoleView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/api/v1/orgs/{org}/roles/{role_id}")]
pub async fn patch_role(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<PatchRole>,
) -> Result<web::Json<RoleView>, ApiError> {
    let (org, id) = path.into_inner();
    Ok(web::Json(
        patch_for(&state, &caller, OrgId(org), id, &body).await?,
    ))
}

/// Changes a role of `org`. Shared with the console.
pub async fn patch_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
    body: &PatchRole,
) -> Result<RoleView, ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let name = body
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    let entries = body.ats_jobs.as_deref().map(clean_entries).transpose()?;
    let fallback = body.fallback;
    let role = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            Role::find(conn, org.0, id).map_err(|_| ApiError::not_found("role"))?;
            check_conflicts(
                conn,
                org.0,
                Some(id),
                entries.as_deref(),
                fallback == Some(true),
            )?;
            let role = Role::update(conn, id, name.as_deref(), fallback)?;
            if let Some(e) = &entries {
                model::replace_jobs(conn, org.0, id, e)?;
            }
            Ok(model::with_jobs(conn, vec![role])?)
        })
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("role"))?;
    Ok(role.into())
}

/// Delete a role; interviews keep the role's name as it was.
#[utoipa::path(
    params(("org" = Uuid, Path), ("role_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/orgs/{org}/roles/{role_id}")]
pub async fn delete_role(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    delete_for(&state, &caller, OrgId(org), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a role of `org`. Shared with the console.
pub async fn delete_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<(), ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let n = state
        .db
        .run(move |conn| Ok(Role::delete(conn, org.0, id)?))
        .await?;
    if n == 0 {
        return Err(ApiError::not_found("role"));
    }
    Ok(())
}

/// Which role a posting resolves to (SPEC §3.3); never calls Lever.
#[utoipa::path(
    params(("org" = Uuid, Path), ResolveQuery),
    responses((status = 200, body = ResolveView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/roles/resolve")]
pub async fn resolve_role(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ResolveQuery>,
) -> Result<web::Json<ResolveView>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(resolve_for(&state, &caller, org, &query).await?))
}

/// Which role a posting of `org` would get. Shared with the console.
pub async fn resolve_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ResolveQuery,
) -> Result<ResolveView, ApiError> {
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
