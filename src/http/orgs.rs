//! `/api/v1/orgs`: creating and reading orgs (the tenants).

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::auth::SuperAdmin;
use super::error::{ApiError, ErrorBody};
use super::json::Json;
use crate::domain::ids::OrgId;
use crate::service::access::Caller;
use crate::service::list::{List, ListQuery};
use crate::service::orgs::{self, CreateOrg, CreatedOrg, OrgView};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(create_org).service(list_orgs).service(get_org);
}

/// Create an org and its first admin key.
#[utoipa::path(
    request_body = CreateOrg,
    responses((status = 201, body = CreatedOrg), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs")]
pub async fn create_org(
    _admin: SuperAdmin,
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<CreateOrg>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(orgs::create(&state, &caller, &body).await?))
}

/// List orgs.
#[utoipa::path(
    params(ListQuery),
    responses((status = 200, body = List<OrgView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs")]
pub async fn list_orgs(
    _admin: SuperAdmin,
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<OrgView>>, ApiError> {
    Ok(web::Json(orgs::list(&state, &caller, &query).await?))
}

/// Read an org.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 200, body = OrgView), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}")]
pub async fn get_org(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<OrgView>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(orgs::get(&state, &caller, org).await?))
}
