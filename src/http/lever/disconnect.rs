//! `DELETE /api/v1/orgs/{org}/lever`: disconnect
//! (`service::connection::disconnect`).

use actix_web::{HttpResponse, delete, web};
use uuid::Uuid;

use crate::domain::ids::OrgId;
use crate::http::error::{ApiError, ErrorBody};
use crate::service::access::Caller;
use crate::service::connection::disconnect as disconnecting;
use crate::state::AppState;

/// Disconnect the org's Lever account.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/orgs/{org}/lever")]
pub async fn disconnect(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    disconnecting::disconnect(&state, &caller, org).await?;
    Ok(HttpResponse::NoContent().finish())
}
