//! An org's connection health, read from the database only (see
//! [`crate::health`]); an org that never connected has the status
//! `not_connected`.

use crate::domain::ids::OrgId;
use crate::health::{self, HealthReport, Policy};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::state::AppState;

/// `org`'s health report.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn report(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
) -> Result<HealthReport, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    let rows = state
        .db
        .run(move |conn| Ok(health::query::load(conn, org.0)?))
        .await?
        .ok_or_else(|| ServiceError::not_found("org"))?;
    Ok(health::build(
        &rows,
        &Policy::from_settings(&state.settings),
    ))
}
