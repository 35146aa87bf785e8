//! `GET /api/v1/orgs/{org}/interviews` and `.../interviews/{id}`: the org's
//! live interviews (`service::interviews`). The live link is always shown;
//! the results link only once a result exists.

use actix_web::{get, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use crate::domain::ids::{InterviewId, OrgId};
use crate::service::access::Caller;
use crate::service::interviews::{self, InterviewView, InterviewsQuery};
use crate::service::list::List;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_interviews).service(get_interview);
}

/// List the org's interviews, newest first.
#[utoipa::path(
    params(("org" = Uuid, Path), InterviewsQuery),
    responses((status = 200, body = List<InterviewView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/interviews")]
pub async fn list_interviews(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<InterviewsQuery>,
) -> Result<web::Json<List<InterviewView>>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(
        interviews::list(&state, &caller, org, &query).await?,
    ))
}

/// Read one interview.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = InterviewView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/interviews/{id}")]
pub async fn get_interview(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<InterviewView>, ApiError> {
    let (org, id) = path.into_inner();
    let view = interviews::get(&state, &caller, OrgId(org), InterviewId(id)).await?;
    Ok(web::Json(view))
}
