//! `/api/v1/usage`: usage per org, for the operator (`service::usage`).

use actix_web::{get, web};

use super::error::{ApiError, ErrorBody};
use crate::service::access::Caller;
use crate::service::list::{List, ListQuery};
use crate::service::usage::{self, UsageView};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(get_usage);
}

/// Per org (oldest first): connections, deliveries, interviews linked and
/// completed, Lever calls, over the last 24 hours and 30 days.
#[utoipa::path(
    params(ListQuery),
    responses((status = 200, body = List<UsageView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/usage")]
pub async fn get_usage(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<UsageView>>, ApiError> {
    Ok(web::Json(usage::list(&state, &caller, &query).await?))
}
