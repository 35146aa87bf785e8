//! `GET /api/v1/orgs/{org}/events`: the org's received Lever events, newest
//! first, optionally of one `status` (`service::events`).

use actix_web::{get, web};
use uuid::Uuid;

use crate::domain::ids::OrgId;
use crate::http::error::{ApiError, ErrorBody};
use crate::service::access::Caller;
use crate::service::events::{self, EventView, EventsQuery};
use crate::service::list::List;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_events);
}

/// List received Lever events, newest first.
#[utoipa::path(
    params(("org" = Uuid, Path), EventsQuery),
    responses((status = 200, body = List<EventView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/events")]
pub async fn list_events(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<EventsQuery>,
) -> Result<web::Json<List<EventView>>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(events::list(&state, &caller, org, &query).await?))
}
