//! `/api/v1/orgs/{org}/audit`: who did what in an org (admin only;
//! `service::audit`).

use actix_web::{get, web};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use crate::domain::ids::OrgId;
use crate::service::access::Caller;
use crate::service::audit::{self, AuditView};
use crate::service::list::{List, ListQuery};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_audit);
}

/// The org's admin actions, oldest first: the acting key's id (or
/// `super`), the action, what it was done to, and a summary (never a
/// secret).
#[utoipa::path(
    params(("org" = Uuid, Path), ListQuery),
    responses((status = 200, body = List<AuditView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/audit")]
pub async fn list_audit(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<AuditView>>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(audit::list(&state, &caller, org, &query).await?))
}
