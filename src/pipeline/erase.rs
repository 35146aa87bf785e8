//! Erasing a deleted candidate (docs/contract/lifecycle.md), and keeping it
//! erased.
//!
//! A `candidateDeleted` delivery (or a sweep's finding of one) is a hint:
//! the candidate counts as deleted only when `GET /opportunities/deleted`
//! lists it, or when a read answers 404 while the grant holds confidential
//! access (without it, a 404 may be a confidential candidate: the event
//! goes `dead`, nothing is erased). A deleted candidate gets no Lever
//! write. An admin's erase (source `erase`) needs no confirmation: if the
//! candidate still exists, its open interview is closed first (reason
//! `erased`), its live link and link-created tag taken off.
//!
//! Every event unit first asks [`guard`] whether its candidate was erased:
//! a later event about it is stored `ignored` (`erased`) without its
//! payload, unless it is a new entry into the trigger stage, which makes
//! it a candidate like any other again.

use super::context::{AccountCtx, Work};
use super::outcome::{Outcome, StepError};
use crate::db::models::erased;
use crate::db::models::work::{self as store, EventWork};
use crate::domain::secrets::ERASED_PREFIX;
use crate::domain::status::{CloseReason, EventSource, reasons};
use crate::lever::wire::events;

/// How far before the delivery's `triggeredAt` the deleted list is read
/// from: Lever's clock and the time of deletion may differ a little.
const DELETED_LIST_SLACK_MS: i64 = 24 * 60 * 60 * 1000;

/// `Some(outcome)` when the event's candidate was erased and the event is
/// not a new stage entry: the event was stored `ignored` (`erased`)
/// without its payload. One indexed read when it was not.
pub async fn guard(
    ctx: &AccountCtx,
    work: &Work,
    ev: &EventWork,
) -> Result<Option<Outcome>, StepError> {
    let Some(opp) = ev.opportunity_id.clone() else {
        return Ok(None);
    };
    if opp.starts_with(ERASED_PREFIX) {
        // The erase this event asked for is stored; a retry has nothing left.
        return Ok(Some(Outcome::Ignored(reasons::ERASED)));
    }
    let conn_id = ev.connection_id.0;
    let key = ctx.secrets.erased_key(conn_id, &opp);
    let lookup = key.clone();
    let Some(at) = ctx
        .db
        .run(move |c| Ok(erased::erased_at(c, conn_id, &lookup)?))
        .await?
    else {
        return Ok(None);
    };
    let entry = ev.event == events::CANDIDATE_STAGE_CHANGE
        && work.conn.is_trigger_stage(ev.to_stage_id.as_deref())
        && ev.triggered_at > at.timestamp_millis();
    if entry {
        ctx.write(move |c| erased::forget(c, conn_id, &key)).await?;
        return Ok(None);
    }
    let id = ev.id.0;
    ctx.write(move |c| erased::scrub_event(c, id, &opp, &key))
        .await?;
    Ok(Some(Outcome::Ignored(reasons::ERASED)))
}

/// Works a `candidateDeleted` event, or an admin's erase.
pub async fn attempt(ctx: &AccountCtx, work: &Work, ev: &EventWork) -> Result<Outcome, StepError> {
    let opp_id = ev
        .opportunity_id
        .clone()
        .ok_or_else(|| StepError::Job("the event names no opportunity".into()))?;
    if ev.source == EventSource::Erase {
        close_if_present(ctx, work, ev, &opp_id).await?;
    } else if let Some(not_deleted) = confirm(work, ev, &opp_id).await? {
        return Ok(not_deleted);
    }
    let (conn_id, event) = (ev.connection_id.0, ev.id.0);
    let key = ctx.secrets.erased_key(conn_id, &opp_id);
    let done = ctx
        .write(move |c| erased::erase(c, conn_id, &opp_id, &key, Some(event)))
        .await?;
    tracing::info!(
        event_id = %ev.id,
        interviews = done.interviews,
        events = done.events,
        "candidate erased"
    );
    Ok(Outcome::Done)
}

/// Whether Lever confirms the deletion: `None` when it does, else the
/// outcome of the event (`ignored` when the candidate is still there,
/// `dead` when Lever will not say).
async fn confirm(work: &Work, ev: &EventWork, opp_id: &str) -> Result<Option<Outcome>, StepError> {
    let from = ev.triggered_at.saturating_sub(DELETED_LIST_SLACK_MS);
    let deleted = work.client.list_deleted_opportunities(from).await?;
    if deleted.iter().any(|d| d.id.as_deref() == Some(opp_id)) {
        return Ok(None);
    }
    match work.client.get_opportunity(opp_id).await {
        Ok(_) => Ok(Some(Outcome::Ignored(reasons::NOT_DELETED))),
        // With confidential access, nothing is hidden: a 404 is a deletion.
        Err(e) if e.is_not_found() && work.conn.confidential_access() => Ok(None),
        Err(e) if e.is_not_found() || e.status() == Some(403) => {
            Ok(Some(Outcome::Abandoned(format!(
                "Lever does not show this candidate ({e}) and does not list it as deleted; \
                 it may be confidential: nothing was erased"
            ))))
        }
        Err(e) => Err(e.into()),
    }
}

/// An admin's erase of a candidate Lever still has: its open interview
/// closes (`erased`), and the live link and link-created tag come off it
/// and off any interview whose results are not posted yet (a completion
/// whose job the erase ends would never swap them). A candidate Lever no
/// longer shows gets no write.
async fn close_if_present(
    ctx: &AccountCtx,
    work: &Work,
    ev: &EventWork,
    opp_id: &str,
) -> Result<(), StepError> {
    let (conn_id, key) = (ev.connection_id, opp_id.to_owned());
    let (open, holders) = ctx
        .db
        .run(move |c| {
            Ok((
                store::open_of_candidate(c, conn_id, &key)?,
                erased::live_link_holders(c, conn_id.0, &key)?,
            ))
        })
        .await?;
    if holders.is_empty() {
        return Ok(());
    }
    let opp = match work.client.get_opportunity(opp_id).await {
        Ok(opp) => opp,
        Err(e) if e.is_not_found() || e.status() == Some(403) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if let Some(id) = open {
        let event = ev.id;
        ctx.write(move |c| store::close(c, id, CloseReason::Erased, Some(event)))
            .await?;
    }
    for id in holders {
        let iv = ctx.db.run(move |c| Ok(store::interview(c, id)?)).await?;
        super::close::take_link_off(ctx, work, &iv, &opp).await?;
    }
    Ok(())
}
