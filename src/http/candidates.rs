//! `GET /api/v1/orgs/{org}/candidates/{opportunity_id}`: one candidate's
//! story (`service::timeline`); `GET .../export`: everything
//! the service holds about one candidate, and `DELETE
//! /api/v1/orgs/{org}/candidates/{opportunity_id}`: erasing it
//! (`service::candidates`).

use actix_web::{HttpResponse, delete, get, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use crate::domain::ids::OrgId;
use crate::service::access::Caller;
use crate::service::candidates;
use crate::service::timeline::{self, Story};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(export_candidate)
        .service(candidate_story)
        .service(erase_candidate);
}

/// Everything held about one candidate: interviews with results, stored
/// events with their payloads, and jobs.
#[utoipa::path(
    params(("org" = Uuid, Path), ("opportunity_id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/candidates/{opportunity_id}/export")]
pub async fn export_candidate(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<serde_json::Value>, ApiError> {
    let (org, opp) = path.into_inner();
    Ok(web::Json(
        candidates::export(&state, &caller, OrgId(org), &opp).await?,
    ))
}

/// Erases what is held about one candidate: payloads, results, summaries,
/// call records; its interviews stay as `erased` rows without content.
#[utoipa::path(
    params(("org" = Uuid, Path), ("opportunity_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/orgs/{org}/candidates/{opportunity_id}")]
pub async fn erase_candidate(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, opp) = path.into_inner();
    candidates::erase(&state, &caller, OrgId(org), &opp).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `?before=`: entries older than this time (RFC 3339).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StoryQuery {
    pub before: Option<chrono::DateTime<chrono::Utc>>,
}

/// One candidate's story, oldest first: deliveries, sweep findings,
/// decisions, completions and closes (at most 500; older with `?before=`).
#[utoipa::path(
    params(("org" = Uuid, Path), ("opportunity_id" = String, Path), StoryQuery),
    responses((status = 200, body = Story), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/candidates/{opportunity_id}")]
pub async fn candidate_story(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    query: web::Query<StoryQuery>,
) -> Result<web::Json<Story>, ApiError> {
    let (org, opp) = path.into_inner();
    Ok(web::Json(
        timeline::story(&state, &caller, OrgId(org), &opp, query.before).await?,
    ))
}
