//! `GET /api/v1/orgs/{org}/lever/health` (member): the connection's health as
//! SPEC §5 shapes it, read from the database only (see [`crate::health`]).
//! An org that never connected → 200 with status `not_connected`.

use actix_web::{get, web};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::ids::OrgId;
use crate::health::{self, HealthReport, Policy};
use crate::http::auth::{Caller, KeyRole};
use crate::http::error::{ApiError, ErrorBody};

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
    Ok(web::Json(report_for(&state, &caller, org).await?))
}

/// `org`'s health report. Shared with the console.
pub async fn report_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
) -> Result<HealthReport, ApiError> {
    caller.require_org(org, KeyRole::Member)?;
    let rows = state
        .db
        .run(move |conn| Ok(health::query::load(conn, org.0)?))
        .await?
        .ok_or_else(|| ApiError::not_found("org"))?;
    Ok(health::build(
        &rows,
        &Policy::from_settings(&state.settings),
    ))
}
