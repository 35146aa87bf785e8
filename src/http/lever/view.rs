//! `GET /api/v1/orgs/{org}/lever`: the connection as an admin sees it (never
//! a token). An org that never connected → 404 `not_connected`.

use actix_web::{get, web};
use uuid::Uuid;

use crate::domain::ids::OrgId;
use crate::http::error::{ApiError, ErrorBody};
use crate::service::access::Caller;
use crate::service::connection::view::{self, ConnectionView};
use crate::state::AppState;

/// Read the org's Lever connection.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 200, body = ConnectionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/lever")]
pub async fn get_connection(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<ConnectionView>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(view::get(&state, &caller, org).await?))
}
