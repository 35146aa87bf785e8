//! Disconnecting an org's Lever account. Deletes our managed webhooks in
//! Lever (best effort: a failure is reported as a problem, not fatal),
//! forgets the OAuth tokens and stops calling Lever. Keeps the signature
//! tokens (late deliveries still verify and are kept), received events and
//! unfinished work for when the org reconnects.

use super::view::load;
use super::webhook_setup;
use crate::db::models::connection::{Connection, problem, webhooks};
use crate::domain::ids::{ConnectionId, OrgId};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::state::AppState;

/// Disconnects `org`'s Lever account.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn disconnect(state: &AppState, caller: &Caller, org: OrgId) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let current = load(state, org).await?;
    let id = current.id;
    // No sweep may repair what this removes while it removes it.
    webhook_setup::hold(state, id).await?;
    let audit = Audit::new(caller, org, Action::Disconnected, "Lever disconnected").on(id);
    let done = remove(state, &current, audit).await;
    webhook_setup::release(state, id).await;
    done
}

async fn remove(state: &AppState, current: &Connection, audit: Audit) -> Result<(), ServiceError> {
    let id = current.id;
    let hooks = state.db.run(move |c| Ok(webhooks::live(c, id)?)).await?;
    let mut problems = Vec::new();
    if current.access_token_enc.is_some() {
        let handle = state.handles.get(ConnectionId(id))?;
        let client = handle.client(None);
        for lever_id in hooks
            .iter()
            .filter(|h| h.managed)
            .filter_map(|h| h.lever_webhook_id.as_deref())
        {
            match client.delete_webhook(lever_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => problems.push(problem(
                    "webhook_not_deleted",
                    &format!(
                        "Arkiter could not delete its webhook in Lever ({e}); a Lever Super Admin \
                         can remove it under Settings > Integrations and API > Webhooks"
                    ),
                )),
            }
        }
    }
    let problems = serde_json::Value::Array(problems);
    state
        .db
        .transaction(move |c| -> Result<(), ServiceError> {
            webhooks::retire_managed(c, id)?;
            Connection::disconnect(c, id, &problems)?;
            Ok(audit.write(c)?)
        })
        .await?;
    state.handles.remove(ConnectionId(id));
    crate::ingest::invalidate(ConnectionId(id));
    tracing::info!(connection_id = %id, "Lever disconnected");
    Ok(())
}
