//! Changing a connection: `PATCH /api/v1/orgs/{org}/lever` (stage, tag names,
//! `perform_as`) and `PUT .../lever/webhook-secret` (manual mode: a pasted
//! signature token), both in `service::connection::settings`.

use actix_web::{patch, put, web};
use uuid::Uuid;

use crate::domain::ids::OrgId;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::Json;
use crate::service::access::Caller;
use crate::service::connection::settings::{self, ConnectionPatch, WebhookSecret};
use crate::service::connection::view::ConnectionView;
use crate::state::AppState;

/// Change the stage, tag names or perform_as.
#[utoipa::path(
    params(("org" = Uuid, Path)), request_body = ConnectionPatch,
    responses((status = 200, body = ConnectionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 502, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/api/v1/orgs/{org}/lever")]
pub async fn patch_connection(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<ConnectionPatch>,
) -> Result<web::Json<ConnectionView>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(
        settings::update(&state, &caller, org, body.into_inner()).await?,
    ))
}

/// Manual webhook mode: store a pasted signature token.
#[utoipa::path(
    params(("org" = Uuid, Path)), request_body = WebhookSecret,
    responses((status = 200, body = ConnectionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/api/v1/orgs/{org}/lever/webhook-secret")]
pub async fn put_webhook_secret(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<WebhookSecret>,
) -> Result<web::Json<ConnectionView>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(
        settings::set_webhook_secret(&state, &caller, org, &body).await?,
    ))
}
