//! `POST /api/v1/orgs/{org}/lever/connect`: starts (or restarts) the OAuth
//! authorisation (`service::connection::connect`).

use actix_web::{post, web};
use uuid::Uuid;

use crate::domain::ids::OrgId;
use crate::http::body::OptionalJson;
use crate::http::error::{ApiError, ErrorBody};
use crate::service::access::Caller;
use crate::service::connection::connect::{self as connecting, ConnectRequest, ConnectResponse};
use crate::state::AppState;

/// Start connecting the org's Lever account.
#[utoipa::path(
    params(("org" = Uuid, Path)), request_body(content = ConnectRequest, description = "optional"),
    responses((status = 200, body = ConnectResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/lever/connect")]
pub async fn connect(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: OptionalJson<ConnectRequest>,
) -> Result<web::Json<ConnectResponse>, ApiError> {
    let org = OrgId(path.into_inner());
    let OptionalJson(body) = body;
    Ok(web::Json(
        connecting::start(&state, &caller, org, body, false).await?,
    ))
}
