//! `/api/v1/orgs/{org}/alerts` (admins) and `/api/v1/alerts` (the
//! super-admin token): alert destinations (`service::alerts`).

use actix_web::{HttpResponse, delete, get, post, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::json::Json;
use crate::domain::ids::OrgId;
use crate::service::access::Caller;
use crate::service::alerts::{
    self, AlertList, CreatedAlert, DeliveryList, NewAlert, Scope, TestQueued,
};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_org_alerts)
        .service(create_org_alert)
        .service(delete_org_alert)
        .service(test_org_alert)
        .service(org_alert_deliveries)
        .service(list_operator_alerts)
        .service(create_operator_alert)
        .service(delete_operator_alert)
        .service(test_operator_alert)
        .service(operator_alert_deliveries);
}

/// An org's alert destinations.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 200, body = AlertList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/alerts")]
pub async fn list_org_alerts(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<AlertList>, ApiError> {
    let scope = Scope::Org(OrgId(path.into_inner()));
    Ok(web::Json(alerts::list(&state, &caller, scope).await?))
}

/// Add an alert destination; a webhook's `secret` is shown only here.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    request_body = NewAlert,
    responses((status = 201, body = CreatedAlert), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/alerts")]
pub async fn create_org_alert(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<NewAlert>,
) -> Result<HttpResponse, ApiError> {
    let scope = Scope::Org(OrgId(path.into_inner()));
    let created = alerts::create(&state, &caller, scope, &body).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Remove an alert destination.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/orgs/{org}/alerts/{id}")]
pub async fn delete_org_alert(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    alerts::delete(&state, &caller, Scope::Org(OrgId(org)), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a test notification to a destination now.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 202, body = TestQueued), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/alerts/{id}/test")]
pub async fn test_org_alert(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    let queued = alerts::test(&state, &caller, Scope::Org(OrgId(org)), id).await?;
    Ok(HttpResponse::Accepted().json(queued))
}

/// The last sends to a destination, newest first, with their status codes.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/alerts/{id}/deliveries")]
pub async fn org_alert_deliveries(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    let (org, id) = path.into_inner();
    Ok(web::Json(
        alerts::deliveries(&state, &caller, Scope::Org(OrgId(org)), id).await?,
    ))
}

/// The operator's alert destinations (summaries of every org's problems).
#[utoipa::path(
    responses((status = 200, body = AlertList), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/alerts")]
pub async fn list_operator_alerts(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<web::Json<AlertList>, ApiError> {
    Ok(web::Json(
        alerts::list(&state, &caller, Scope::Operator).await?,
    ))
}

/// Add one of the operator's alert destinations.
#[utoipa::path(
    request_body = NewAlert,
    responses((status = 201, body = CreatedAlert), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/alerts")]
pub async fn create_operator_alert(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<NewAlert>,
) -> Result<HttpResponse, ApiError> {
    let created = alerts::create(&state, &caller, Scope::Operator, &body).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Remove one of the operator's alert destinations.
#[utoipa::path(
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/alerts/{id}")]
pub async fn delete_operator_alert(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    alerts::delete(&state, &caller, Scope::Operator, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a test notification to one of the operator's destinations now.
#[utoipa::path(
    params(("id" = Uuid, Path)),
    responses((status = 202, body = TestQueued), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/alerts/{id}/test")]
pub async fn test_operator_alert(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let queued = alerts::test(&state, &caller, Scope::Operator, path.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(queued))
}

/// The last sends to one of the operator's destinations.
#[utoipa::path(
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/alerts/{id}/deliveries")]
pub async fn operator_alert_deliveries(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    Ok(web::Json(
        alerts::deliveries(&state, &caller, Scope::Operator, path.into_inner()).await?,
    ))
}
