//! The sweep's webhook check (docs/contract/sweep.md): `GET /webhooks`, then in managed
//! mode, when any webhook of ours (one per event) is missing or disabled,
//! all are registered again with the code connecting uses
//! ([`crate::connections::setup::register_webhooks`]), their new signature
//! tokens kept beside the old ones (`webhook_repaired` on the health page for 24
//! hours); in manual mode a webhook missing from Lever is recorded
//! (`webhook_missing`, whose message says what to paste where).
//!
//! In managed mode our webhook is the one whose Lever id is stored, and it
//! is stored only together with its signature token: a webhook that Lever
//! made but whose token we failed to store is never taken for ours. It is
//! deleted (at once, and by the next repair if that failed too), because
//! every delivery it sends would be refused as unsigned.

use super::run::{SweepDeps, SweepError, SweepTarget, fenced_write};
use crate::connections::setup::{self, WebhookSetup};
use crate::db::models::connection::{Connection, webhooks};
use crate::db::models::sweep as schedule;
use crate::domain::ids::ConnectionId;
use crate::domain::status::ConnectionStatus;
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
    /// mode without the API), the lease no longer allows writes, or a
    /// connect is replacing the webhooks right now.
    Skipped,
}

/// Ours, and delivering. Managed: every webhook whose Lever id we stored
/// with its token. Manual (we know no id): one delivering stage changes to
/// our URL.
fn delivering(hooks: &[WebhookSubscription], target: &SweepTarget) -> bool {
    let live = |wanted: &dyn Fn(&WebhookSubscription) -> bool| {
        hooks.iter().filter(|h| !h.is_disabled()).any(wanted)
    };
    match target.managed {
        true => {
            !target.lever_webhook_ids.is_empty()
                && target
                    .lever_webhook_ids
                    .iter()
                    .all(|id| live(&|h| &h.id == id))
        }
        false => {
            live(&|h| h.url == target.webhook_url && h.event == events::CANDIDATE_STAGE_CHANGE)
        }
    }
}

/// Webhooks at Lever that deliver to our URL but whose tokens we never
/// stored: left behind by a repair or a connect whose store failed.
fn unverifiable<'a>(hooks: &'a [WebhookSubscription], target: &SweepTarget) -> Vec<&'a str> {
    hooks
        .iter()
        .filter(|h| h.url == target.webhook_url)
        .filter(|h| !target.known_lever_ids.iter().any(|k| k == &h.id))
        .map(|h| h.id.as_str())
        .collect()
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
    // A managed connection without its lifecycle webhooks counts as
    // missing one (at most weekly): the repair registers them all.
    let present = delivering(&hooks, target) && !target.lacks_lifecycle_webhooks;
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
    // A connect (or another instance's repair) replacing the webhooks now
    // is why they look missing: leave it to finish.
    let (id, hold) = (target.connection_id, setup::SETUP_HOLD);
    let marked = deps
        .db
        .run(move |c| Ok(Connection::mark_webhook_setup(c, id, hold)?))
        .await?;
    if !marked {
        return Ok(WebhookCheck::Skipped);
    }
    let repaired = repair_unless_changed(deps, target).await;
    if repaired.is_ok() {
        for stray in unverifiable(&hooks, target) {
            delete_stray(deps, target, stray).await;
        }
    }
    let cleared = deps
        .db
        .run(move |c| Ok(Connection::unmark_webhook_setup(c, id)?))
        .await;
    if let Err(e) = cleared {
        tracing::warn!(connection_id = %id, error = %e, "could not clear the webhook-setup mark; it runs out by itself");
    }
    repaired
}

/// Repairs, unless what this sweep saw changed while it took the mark: a
/// connect or disconnect that held it has just replaced or removed the
/// webhooks, and they are theirs to keep.
async fn repair_unless_changed(
    deps: &SweepDeps,
    target: &SweepTarget,
) -> Result<WebhookCheck, SweepError> {
    let id = target.connection_id;
    let now = deps
        .db
        .run(move |c| {
            let active = Connection::find(c, id)?.status == ConnectionStatus::Active;
            let ids: Vec<Option<String>> = webhooks::live(c, id)?
                .into_iter()
                .filter(|h| h.managed)
                .map(|h| h.lever_webhook_id)
                .collect();
            Ok((active, ids))
        })
        .await?;
    let seen: Vec<Option<String>> = target.lever_webhook_ids.iter().cloned().map(Some).collect();
    if !now.0 || now.1 != seen {
        return Ok(WebhookCheck::Skipped);
    }
    repair(deps, target).await
}

/// Deletes a webhook of ours whose token is not stored. Best effort: one
/// left behind is found and deleted by the next repair.
async fn delete_stray(deps: &SweepDeps, target: &SweepTarget, lever_id: &str) {
    match deps.client.delete_webhook(lever_id).await {
        Ok(()) => {
            tracing::info!(connection_id = %target.connection_id, "deleted a Lever webhook whose signature token was never stored")
        }
        Err(e) => {
            tracing::warn!(connection_id = %target.connection_id, error = %e, "could not delete a Lever webhook whose signature token was never stored")
        }
    }
}

/// Registers our webhooks again and keeps their tokens beside the old ones.
async fn repair(deps: &SweepDeps, target: &SweepTarget) -> Result<WebhookCheck, SweepError> {
    let hooks = match setup::register_webhooks(&deps.client, &target.webhook_url).await? {
        WebhookSetup::Registered { hooks, .. } => hooks,
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
    let sealed: Vec<(&'static str, String, Vec<u8>)> = hooks
        .iter()
        .map(|h| {
            (
                h.event,
                h.lever_id.clone(),
                deps.secrets.seal(&h.signature_token),
            )
        })
        .collect();
    let (id, url) = (target.connection_id, target.webhook_url.clone());
    let stored = fenced_write(deps, id, move |c| {
        // The old rows are retired, not deleted: their tokens still verify
        // late deliveries and Lever's "Rerun" of old ones.
        webhooks::retire_managed(c, id)?;
        for (event, lid, token) in &sealed {
            webhooks::insert(c, id, Some(lid), event, &url, true, token)?;
        }
        schedule::webhook_repaired(c, id)
    })
    .await;
    if let Err(e) = stored {
        // Left at Lever, they would deliver with tokens nobody knows.
        for h in &hooks {
            delete_stray(deps, target, &h.lever_id).await;
        }
        return Err(e);
    }
    crate::ingest::invalidate(ConnectionId(target.connection_id));
    tracing::info!(connection_id = %target.connection_id, "the sweep registered the Lever webhooks again");
    let lever_id = hooks
        .iter()
        .find(|h| h.event == events::CANDIDATE_STAGE_CHANGE)
        .map(|h| h.lever_id.clone())
        .unwrap_or_default();
    Ok(WebhookCheck::Repaired { lever_id })
}
