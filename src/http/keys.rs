//! `/api/v1/orgs/{org}/keys`: an org's API keys (admin only; `service::keys`).

use actix_web::{HttpResponse, delete, get, post, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::json::Json;
use crate::domain::ids::OrgId;
use crate::service::access::Caller;
use crate::service::keys::{self, CreateKey, CreatedKey, KeyView};
use crate::service::list::{List, ListQuery};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_keys)
        .service(create_key)
        .service(delete_key);
}

/// List an org's keys (never their secrets).
#[utoipa::path(
    params(("org" = Uuid, Path), ListQuery),
    responses((status = 200, body = List<KeyView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/keys")]
pub async fn list_keys(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<KeyView>>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(keys::list(&state, &caller, org, &query).await?))
}

/// Create a key; the response is the only time its text is shown.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/keys")]
pub async fn create_key(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    let created = keys::create(&state, &caller, org, &body).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Delete a key; it stops working at once.
#[utoipa::path(
    params(("org" = Uuid, Path), ("key_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/orgs/{org}/keys/{key_id}")]
pub async fn delete_key(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, key_id) = path.into_inner();
    keys::delete(&state, &caller, OrgId(org), key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
