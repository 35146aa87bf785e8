//! The sweep's webhook check (docs/contract/sweep.md): `GET /webhooks`, then in managed
//! mode a missing or disabled `candidateStageChange` webhook of ours is
//! registered again with the code connecting uses
//! ([`crate::connections::setup::register_webhook`]), its new signature token
//! kept beside the old ones (`webhook_repaired` on the health page for 24
//! hours); in manual mode a webhook missing from Lever is recorded
//! (`webhook_missing`, whose message says what to paste where).

use super::run::{SweepDeps, SweepError, SweepTarget, fenced_write};
use crate::connections::setup::{self, WebhookSetup};
use crate::db::models::connection::webhooks;
use crate::db::models::sweep as schedule;
use crate::domain::ids::ConnectionId;
use crate::lever::LeverError;
use crate::lever::wire::{WebhookSubscription, events};

/// What the webhook check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookCheck {
    /// Our webhook is there (or, manual mode, one delivering to our URL).
    Present,
    /// Managed mode: it was missing or disabled and is registered again.
    Repaired { lever_id: String },
    /// Managed mode: it is missing and Lever refused a new one.
    RepairRefused(String),
    /// Manual mode: no webhook delivers to our URL.
    Missing,
    /// Not checked: Lever does not let this account list webhooks (manual
    /// mode without the API), or the lease no longer allows writes.
    Skipped,
}

/// Ours, and delivering: our stored Lever id, or (manual mode, or a
/// managed row without an id) our URL for stage changes.
fn delivering(hooks: &[WebhookSubscription], target: &SweepTarget) -> bool {
    hooks.iter().filter(|h| !h.is_disabled()).any(|h| {
        target.lever_webhook_id.as_deref() == Some(h.id.as_str())
            || (h.url == target.webhook_url && h.event == events::CANDIDATE_STAGE_CHANGE)
    })
}

pub(super) async fn check(
    deps: &SweepDeps,
    target: &SweepTarget,
) -> Result<WebhookCheck, SweepError> {
    let hooks = match deps.client.list_webhooks().await {
        Ok(hooks) => hooks,
        // No webhook API for this account (manual mode's usual reason):
        // nothing to check against.
        Err(LeverError::Api {
            status: 401..=499, ..
        }) if !target.managed => return Ok(WebhookCheck::Skipped),
        Err(e) => return Err(e.into()),
    };
    let present = delivering(&hooks, target);
    let id = target.connection_id;
    if !target.managed {
        let missing = (!present).then(|| target.webhook_url.clone());
        let check = if present {
            WebhookCheck::Present
        } else {
            WebhookCheck::Missing
        };
        fenced_write(deps, id, move |c| {
            schedule::webhook_missing(c, id, missing.as_deref())
        })
        .await?;
        return Ok(check);
    }
    if present {
        return Ok(WebhookCheck::Present);
    }
    if !(deps.may_write)() {
        return Ok(WebhookCheck::Skipped);
    }
    repair(deps, target).await
}

/// Registers our webhook again and keeps its token beside the old ones.
async fn repair(deps: &SweepDeps, target: &SweepTarget) -> Result<WebhookCheck, SweepError> {
    let (lever_id, token) = match setup::register_webhook(&deps.client, &target.webhook_url).await?
    {
        WebhookSetup::Registered {
            lever_id,
            signature_token,
        } => (lever_id, signature_token),
        WebhookSetup::Unavailable(why) => {
            tracing::warn!(connection_id = %target.connection_id, reason = %why, "the sweep could not register the webhook again");
            let (id, url) = (target.connection_id, target.webhook_url.clone());
            fenced_write(deps, id, move |c| {
                schedule::webhook_missing(c, id, Some(&url))
            })
            .await?;
            return Ok(WebhookCheck::RepairRefused(why));
        }
    };
    let sealed = deps.secrets.seal(&token);
    let (id, url, lid) = (
        target.connection_id,
        target.webhook_url.clone(),
        lever_id.clone(),
    );
    fenced_write(deps, id, move |c| {
        // The old rows are retired, not deleted: their tokens still verify
        // late deliveries and Lever's "Rerun" of old ones.
        webhooks::retire_managed(c, id)?;
        webhooks::insert(c, id, Some(&lid), &url, true, &sealed)?;
        schedule::webhook_repaired(c, id)
    })
    .await?;
    crate::ingest::invalidate(ConnectionId(target.connection_id));
    tracing::info!(connection_id = %target.connection_id, "the sweep registered the Lever webhook again");
    Ok(WebhookCheck::Repaired { lever_id })
}
