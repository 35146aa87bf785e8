//! `/api/v1/orgs`: creating and reading orgs (the tenants).

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, KeyRole, SuperAdmin};
use super::error::ApiError;
use super::pagination::{List, ListQuery};
use super::validate;
use crate::app::AppState;
use crate::db::models::api_key::{ApiKey, NewApiKey};
use crate::db::models::org::Org;
use crate::domain::api_keys;
use crate::domain::ids::OrgId;
use crate::http::json::Json;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(create_org).service(list_orgs).service(get_org);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// 1-200 characters.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Org> for OrgView {
    fn from(o: Org) -> Self {
        Self {
            id: o.id,
            name: o.name,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrg {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The org's first admin key; shown only here.
    pub admin_key: String,
    pub admin_key_id: Uuid,
}

/// Create an org and its first admin key.
#[utoipa::path(
    request_body = CreateOrg,
    responses((status = 201, body = CreatedOrg), (status = 401, body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody),
              (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs")]
pub async fn create_org(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    body: Json<CreateOrg>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(create(&state, &body.name).await?))
}

/// Creates an org and its first admin key (the caller must be the super-admin).
/// Shared with the console.
pub async fn create(state: &AppState, name: &str) -> Result<CreatedOrg, ApiError> {
    let name = validate::name("name", name)?;
    let key = api_keys::issue();
    let (key_id, key_text) = (key.id, key.text.clone());
    let org = state
        .db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                let org = Org::insert(conn, Uuid::new_v4(), &name)?;
                let new_key = NewApiKey {
                    id: key.id,
                    org_id: org.id,
                    role: KeyRole::Admin.as_str(),
                    label: "initial admin key",
                    secret_sha256: &key.secret_sha256,
                };
                ApiKey::insert(conn, &new_key)?;
                Ok(org)
            })
        })
        .await?;
    Ok(CreatedOrg {
        id: org.id,
        name: org.name,
        created_at: org.created_at,
        admin_key: key_text,
        admin_key_id: key_id,
    })
}

/// List orgs.
#[utoipa::path(
    params(ListQuery),
    responses((status = 200, body = List<OrgView>), (status = 401, body = super::error::ErrorBody),
              (status = 403, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs")]
pub async fn list_orgs(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<OrgView>>, ApiError> {
    Ok(web::Json(list(&state, &query).await?))
}

/// One page of orgs (the caller must be the super-admin). Shared with the console.
pub async fn list(state: &AppState, query: &ListQuery) -> Result<List<OrgView>, ApiError> {
    let page = query.page()?;
    let orgs = state.db.run(move |conn| Ok(Org::list(conn, page)?)).await?;
    Ok(List::from_page(orgs, OrgView::from))
}

/// Read an org.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 200, body = OrgView), (status = 401, body = super::error::ErrorBody),
              (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}")]
pub async fn get_org(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<OrgView>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(get_for(&state, &caller, org).await?))
}

/// The org as `caller` may see it. Shared with the console.
pub async fn get_for(state: &AppState, caller: &Caller, org: OrgId) -> Result<OrgView, ApiError> {
    caller.require_org(org, KeyRole::Member)?;
    let found = state
        .db
        .run(move |conn| Ok(Org::find(conn, org.0)?))
        .await
        .map_err(|e| match ApiError::from(e) {
            ApiError::NotFound(_) => ApiError::not_found("org"),
            other => other,
        })?;
    Ok(found.into())
}
