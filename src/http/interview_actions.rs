//! What the interview platform and admins do to an interview and an event:
//! `POST .../interviews/{id}/complete`, `.../cancel`, `.../reinvite` and
//! `POST .../events/{id}/replay` (`service::actions`). Each answers 202; the
//! Lever writes follow in the pipeline.

use actix_web::{HttpResponse, post, web};
use serde_json::json;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::json::Json;
use crate::domain::ids::{EventId, InterviewId, OrgId};
use crate::service::access::Caller;
use crate::service::actions::{self, Completion};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(complete)
        .service(cancel)
        .service(reinvite)
        .service(replay)
        .service(bulk_replay);
}

/// Record the interview's result (the interview platform).
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)), request_body = Completion,
    responses((status = 202), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/interviews/{id}/complete")]
pub async fn complete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<Completion>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    actions::complete(
        &state,
        &caller,
        OrgId(org),
        InterviewId(id),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Cancel an open interview: its link and tag leave Lever, `/live` answers 410.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/interviews/{id}/cancel")]
pub async fn cancel(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    actions::cancel(&state, &caller, OrgId(org), InterviewId(id)).await?;
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Re-invite the candidate of a closed or expired interview who is still in
/// the trigger stage: a new interview and link. Otherwise 409.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/interviews/{id}/reinvite")]
pub async fn reinvite(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    actions::reinvite(&state, &caller, OrgId(org), InterviewId(id)).await?;
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Run a `dead` or `done` event again. It never makes a second interview for
/// the same stage entry: it re-ensures what that interview's status calls for.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/events/{id}/replay")]
pub async fn replay(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    actions::replay(&state, &caller, OrgId(org), EventId(id)).await?;
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Run the org's dead events again in bulk (those that went dead in
/// `[since, until)`, at most 10,000); with `dry_run`, only count them.
#[utoipa::path(
    params(("org" = Uuid, Path)), request_body = actions::BulkReplay,
    responses((status = 200, description = "dry run: the count"), (status = 202, description = "the count replayed"),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/events/replay")]
pub async fn bulk_replay(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<actions::BulkReplay>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    let count = actions::bulk_replay(&state, &caller, org, &body).await?;
    Ok(match body.dry_run {
        true => HttpResponse::Ok().json(json!({"count": count, "dry_run": true})),
        false => HttpResponse::Accepted().json(json!({"count": count})),
    })
}
