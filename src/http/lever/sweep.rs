//! `POST /api/v1/orgs/{org}/lever/sweep`: asks for a sweep of the org's
//! connection now (`service::connection::sweep`).

use actix_web::{HttpResponse, post, web};
use uuid::Uuid;

use crate::domain::ids::OrgId;
use crate::http::error::{ApiError, ErrorBody};
use crate::service::access::Caller;
use crate::service::connection::sweep::{self, SweepRequested};
use crate::state::AppState;

/// Sweep the org's Lever stage now for candidates Lever did not deliver.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 202, body = SweepRequested), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`not_connected`: the connection is not active")),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/lever/sweep")]
pub async fn request_sweep(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    let at = sweep::request(&state, &caller, org).await?;
    Ok(HttpResponse::Accepted().json(SweepRequested {
        sweep_requested_at: at,
    }))
}
