//! Asking for a sweep of an org's connection now. The request is recorded in
//! `connection_sweeps` and the connection's supervisor woken; it runs the
//! sweep at its lowest priority. A sweep already queued or running is not
//! doubled: the answer carries its time. Only an active connection sweeps.

use crate::db::models::connection::Connection;
use crate::db::models::org::Org;
use crate::db::models::sweep as schedule;
use crate::domain::ids::{ConnectionId, OrgId};
use crate::domain::status::ConnectionStatus;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::service::{Kind, ServiceError};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct SweepRequested {
    /// When the sweep that will run (or is running) was asked for.
    pub sweep_requested_at: DateTime<Utc>,
}

fn not_active(status: Option<ConnectionStatus>) -> ServiceError {
    let message = match status {
        None => "this org has not connected a Lever account, so there is nothing to sweep".into(),
        Some(s) => format!(
            "the Lever connection is {s}, not active: a sweep runs only for an active \
             connection (connect Lever again or fix the setup first)"
        ),
    };
    ServiceError::new(Kind::Conflict, "not_connected", message)
}

/// Asks for a sweep of `org`'s connection; returns when it was asked for.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn request(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
) -> Result<DateTime<Utc>, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let audit = Audit::new(caller, org, Action::SweepRequested, "sweep requested");
    let requested = state
        .db
        .transaction(move |c| {
            let Some(k) = Connection::find_by_org(c, org.0)? else {
                Org::find(c, org.0)?;
                return Ok::<_, ServiceError>(Err(None));
            };
            if k.status != ConnectionStatus::Active {
                return Ok(Err(Some(k.status)));
            }
            let at = schedule::request_sweep(c, k.id)?;
            audit.on(k.id).write(c)?;
            Ok(Ok((k.id, at)))
        })
        .await?;
    let (id, at) = requested.map_err(not_active)?;
    crate::sweep::wake_for_sweep(&state.wake, ConnectionId(id));
    tracing::info!(connection_id = %id, "sweep requested");
    Ok(at)
}
