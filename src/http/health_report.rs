//! `GET /api/v1/orgs/{org}/lever/health` (member): the connection's health,
//! read from the database only (`service::health`). An org that never
//! connected → 200 with status `not_connected`.

use actix_web::{get, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use crate::domain::ids::OrgId;
use crate::health::HealthReport;
use crate::service::access::Caller;
use crate::service::health;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(get_health);
}

/// Per-connection health: token, webhook, stage, queue, Lever API, latency,
/// supervisor, unmapped postings and the problems to fix.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 200, body = HealthReport), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/lever/health")]
pub async fn get_health(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<HealthReport>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(health::report(&state, &caller, org).await?))
}
