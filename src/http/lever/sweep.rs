//! `POST /api/v1/orgs/{org}/lever/sweep`: asks for a sweep of the org's
//! connection now (SPEC §3.2, §4 "What Lever did not deliver"). The request
//! is recorded in `connection_sweeps` and the connection's supervisor woken;
//! it runs the sweep at its lowest priority. A sweep already queued or
//! running is not doubled: the answer carries its time.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::models::connection::Connection;
use crate::db::models::org::Org;
use crate::domain::ids::{ConnectionId, OrgId};
use crate::http::auth::{Caller, KeyRole};
use crate::http::error::{ApiError, ErrorBody};
use crate::sweep::schedule;

#[derive(Debug, Serialize, ToSchema)]
pub struct SweepRequested {
    /// When the sweep that will run (or is running) was asked for.
    pub sweep_requested_at: DateTime<Utc>,
}

fn not_active(status: Option<crate::domain::status::ConnectionStatus>) -> ApiError {
    let message = match status {
        None => "this org has not connected a Lever account, so there is nothing to sweep".into(),
        Some(s) => format!(
            "the Lever connection is {s}, not active: a sweep runs only for an active \
             connection (connect Lever again or fix the setup first)"
        ),
    };
    ApiError::Other {
        status: StatusCode::CONFLICT,
        code: "not_connected",
        message,
    }
}

/// Sweep the org's Lever stage now for candidates Lever did not deliver.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    responses((status = 202, body = SweepRequested), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`not_connected`: the connection is not active")),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/lever/sweep")]
pub async fn request_sweep(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    let at = sweep_for(&state, &caller, org).await?;
    Ok(HttpResponse::Accepted().json(SweepRequested {
        sweep_requested_at: at,
    }))
}

/// Asks for a sweep of `org`'s connection; returns when it was asked for.
/// Shared with the console.
pub async fn sweep_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
) -> Result<DateTime<Utc>, ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let requested = state
        .db
        .run(move |c| {
            let Some(k) = Connection::find_by_org(c, org.0)? else {
                Org::find(c, org.0)?;
                return Ok(Err(None));
            };
            if k.status != crate::domain::status::ConnectionStatus::Active {
                return Ok(Err(Some(k.status)));
            }
            Ok(Ok((k.id, schedule::request_sweep(c, k.id)?)))
        })
        .await?;
    let (id, at) = requested.map_err(not_active)?;
    schedule::wake_for_sweep(&state.wake, ConnectionId(id));
    tracing::info!(connection_id = %id, "sweep requested");
    Ok(at)
}
