//! `/api/v1/orgs/{org}/roles`: Arkiter roles and the Lever jobs mapped to
//! them, plus `roles/resolve`, which never calls Lever (`service::roles`).

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::json::Json;
use crate::domain::ids::OrgId;
use crate::service::ServiceError;
use crate::service::access::Caller;
use crate::service::list::{List, ListQuery};
use crate::service::roles::{self, CreateRole, PatchRole, ResolveQuery, ResolveView, RoleView};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    // `resolve` before `{role_id}`, which would otherwise claim the path.
    cfg.service(resolve_role)
        .service(create_role)
        .service(list_roles)
        .service(get_role)
        .service(patch_role)
        .service(delete_role);
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
    let role = roles::create(&state, &caller, org, &body).await?;
    Ok(HttpResponse::Created().json(role))
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
    Ok(web::Json(roles::list(&state, &caller, org, &query).await?))
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
    Ok(web::Json(
        roles::get(&state, &caller, OrgId(org), id).await?,
    ))
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
        roles::update(&state, &caller, OrgId(org), id, &body).await?,
    ))
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
    roles::delete(&state, &caller, OrgId(org), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which role a posting resolves to (docs/contract/roles.md); never calls Lever.
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
    req: HttpRequest,
) -> Result<web::Json<ResolveView>, ApiError> {
    let org = OrgId(path.into_inner());
    let query = resolve_query(req.query_string())?;
    Ok(web::Json(
        roles::resolve_posting(&state, &caller, org, &query).await?,
    ))
}

/// The resolve query, read by hand because `tag` may repeat (the
/// urlencoded extractor takes each key once); an unknown key is refused.
fn resolve_query(raw: &str) -> Result<ResolveQuery, ServiceError> {
    let mut q = ResolveQuery::default();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "posting_id" => q.posting_id = Some(value),
            "title" => q.title = Some(value),
            "tag" => q.tag.push(value),
            "stage_id" => q.stage_id = Some(value),
            other => {
                return Err(ServiceError::bad_query(format!(
                    "unknown query parameter `{other}`"
                )));
            }
        }
    }
    Ok(q)
}
