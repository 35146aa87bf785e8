//! Closing an open interview when Lever archives or hires its candidate, or
//! (with `on_stage_exit: close`) when it moves out of the trigger stage, or
//! when its link expires unopened (an `expire` job)
//! (docs/contract/lifecycle.md). The delivery is a hint, since its `data` is
//! not signed: the unit reads the opportunity and acts only on what Lever
//! shows. A hire is an archive whose reason is of Lever's hired type,
//! whichever event (archive change or hired) brought the news.
//!
//! The close is stored first (one conditional update: an interview with a
//! result is never closed, whichever committed first), then the live link
//! and the link-created tag come off and the closed tag goes on, each only
//! if a fresh read shows it still to do. A retry of the event finds the
//! interview it closed and finishes the writes.

use super::caches::LinkCaches;
use super::context::{AccountCtx, Work};
use super::outcome::{Outcome, StepError};
use super::writes::{Has, ensure};
use crate::db::models::interview::Interview;
use crate::db::models::work::{self as store, EventWork, Step};
use crate::domain::ids::InterviewId;
use crate::domain::status::{CloseReason, InterviewStatus, LifecyclePolicy, reasons};
use crate::lever::wire::Opportunity;

/// Works one archive or hired event.
pub async fn attempt(
    ctx: &AccountCtx,
    caches: &LinkCaches,
    work: &Work,
    ev: &EventWork,
) -> Result<Outcome, StepError> {
    let open = match begin(ctx, work, ev).await? {
        Begun::Open(id) => id,
        Begun::Settled(outcome) => return Ok(outcome),
    };
    let keep = LifecyclePolicy::Keep;
    if work.conn.on_archive == keep && work.conn.on_hired == keep {
        return Ok(Outcome::Ignored(reasons::POLICY_KEEP));
    }
    let opp = work.client.get_opportunity(&open.1).await?;
    let Some(archived) = opp.archived() else {
        // Unarchived since, or the event was not an archive: nothing to close.
        return Ok(Outcome::Ignored(reasons::NOT_ARCHIVED));
    };
    let hired = match archived.reason.as_deref() {
        Some(reason) => hired_reason(caches, work, reason).await?,
        None => None,
    };
    let Some(reason) = close_reason(hired, work.conn.on_archive, work.conn.on_hired) else {
        return Ok(Outcome::Ignored(reasons::POLICY_KEEP));
    };
    close(ctx, work, ev, open.0, reason, &opp).await
}

/// Works a move out of the trigger stage while `on_stage_exit` is `close`:
/// closes the open interview once a read shows the candidate out of the
/// stage.
pub async fn attempt_exit(
    ctx: &AccountCtx,
    work: &Work,
    ev: &EventWork,
) -> Result<Outcome, StepError> {
    let open = match begin(ctx, work, ev).await? {
        Begun::Open(id) => id,
        Begun::Settled(outcome) => return Ok(outcome),
    };
    let opp = work.client.get_opportunity(&open.1).await?;
    if work.conn.is_trigger_stage(opp.stage_id()) {
        // Moved back in since (or on to another trigger stage, whose own
        // delivery switches the interview): nothing to close here.
        return Ok(Outcome::Ignored(reasons::IN_STAGE));
    }
    close(ctx, work, ev, open.0, CloseReason::LeftStage, &opp).await
}

/// Works an expire job: the interview closes (`expired`) unless it was
/// opened, completed or closed meanwhile, then its link and link tag come
/// off and the expired tag goes on. A retry finishes the writes.
pub async fn expire(ctx: &AccountCtx, work: &Work, iv: &Interview) -> Result<Outcome, StepError> {
    let expired =
        iv.status == InterviewStatus::Cancelled && iv.close_reason == Some(CloseReason::Expired);
    let iv = match expired {
        true => iv.clone(),
        false => {
            let id = iv.id;
            if !ctx.write(move |c| store::close_expired(c, id)).await? {
                return Ok(Outcome::Ignored(reasons::NO_INTERVIEW));
            }
            tracing::info!(interview_id = %id, "interview link expired");
            ctx.db.run(move |c| Ok(store::interview(c, id)?)).await?
        }
    };
    let opp = work.client.get_opportunity(&iv.opportunity_id).await?;
    take_off_and_tag(ctx, work, &iv, &opp).await
}

/// Before an interview opens for trigger stage `stage`: the candidate's
/// open interview made for another trigger stage closes (`left_stage`,
/// without the closed tag, whatever `on_stage_exit` says), its live link
/// and link-created tag off first. Nothing ties the link step's event to
/// the closed interview, so a retry of the step opens the new one. `true`:
/// it closed one (and wrote to Lever).
pub async fn close_other_stage(
    ctx: &AccountCtx,
    work: &Work,
    opp: &Opportunity,
    stage: &str,
) -> Result<bool, StepError> {
    let (conn_id, key) = (
        crate::domain::ids::ConnectionId(work.conn.id),
        opp.id.clone(),
    );
    let open = ctx
        .db
        .run(move |c| {
            let Some(id) = store::open_of_candidate(c, conn_id, &key)? else {
                return Ok(None);
            };
            let linked_from = crate::db::models::interview::outcome::of(c, id)?.stage_id;
            Ok(Some((store::interview(c, id)?, linked_from)))
        })
        .await?;
    let Some((iv, Some(linked_from))) = open else {
        return Ok(false);
    };
    if linked_from == stage {
        return Ok(false);
    }
    take_link_off(ctx, work, &iv, opp).await?;
    let id = iv.id;
    ctx.write(move |c| store::close(c, id, CloseReason::LeftStage, None))
        .await?;
    tracing::info!(interview_id = %id, "interview closed: the candidate moved to another trigger stage");
    Ok(true)
}

/// Where a close unit stands before it decides.
enum Begun {
    /// The candidate's open interview, and the opportunity id.
    Open((InterviewId, String)),
    /// Nothing to decide: finished a retry's writes, or nothing is open.
    Settled(Outcome),
}

/// A retry (the event already closed its interview) finishes the writes;
/// otherwise the candidate's open interview, if any. No Lever call before
/// there is something to close.
async fn begin(ctx: &AccountCtx, work: &Work, ev: &EventWork) -> Result<Begun, StepError> {
    let opp_id = ev
        .opportunity_id
        .clone()
        .ok_or_else(|| StepError::Job("the event names no opportunity".into()))?;
    if let Some(id) = ev.interview_id {
        let iv = ctx.db.run(move |c| Ok(store::interview(c, id)?)).await?;
        if iv.status != InterviewStatus::Cancelled {
            // A completion came after the close: its swap owns Lever now.
            return Ok(Begun::Settled(Outcome::Done));
        }
        let opp = work.client.get_opportunity(&opp_id).await?;
        return take_off_and_tag(ctx, work, &iv, &opp)
            .await
            .map(Begun::Settled);
    }
    let (conn_id, key) = (ev.connection_id, opp_id.clone());
    let open = ctx
        .db
        .run(move |c| Ok(store::open_of_candidate(c, conn_id, &key)?))
        .await?;
    Ok(match open {
        Some(id) => Begun::Open((id, opp_id)),
        None => Begun::Settled(Outcome::Ignored(reasons::NO_INTERVIEW)),
    })
}

/// Stores the close (unless a completion came first), then makes Lever
/// show it.
async fn close(
    ctx: &AccountCtx,
    work: &Work,
    ev: &EventWork,
    id: InterviewId,
    reason: CloseReason,
    opp: &Opportunity,
) -> Result<Outcome, StepError> {
    let event = ev.id;
    let closed = ctx
        .write(move |c| store::close(c, id, reason, Some(event)))
        .await?;
    if !closed {
        // A completion was stored first: completed interviews stay as they are.
        return Ok(Outcome::Ignored(reasons::NO_INTERVIEW));
    }
    let iv = ctx.db.run(move |c| Ok(store::interview(c, id)?)).await?;
    tracing::info!(interview_id = %id, reason = %reason, "interview closed");
    take_off_and_tag(ctx, work, &iv, opp).await
}

/// What closes, given whether the archive reason is of the hired type
/// (`None`: unknown, for example without the archive-reasons scope) and the
/// connection's two policies. `None`: the policy keeps the interview open.
/// An unknown type closes only when both policies agree on closing.
fn close_reason(
    hired: Option<bool>,
    on_archive: LifecyclePolicy,
    on_hired: LifecyclePolicy,
) -> Option<CloseReason> {
    let close = LifecyclePolicy::Close;
    match hired {
        Some(true) => (on_hired == close).then_some(CloseReason::Hired),
        Some(false) => (on_archive == close).then_some(CloseReason::Archived),
        None => (on_archive == close && on_hired == close).then_some(CloseReason::Archived),
    }
}

/// Whether archive reason `reason` is of the hired type: cached, else one
/// read of the account's reasons. Unknown when Lever does not say (a reason
/// missing from the list, or the list refused for want of its scope).
async fn hired_reason(
    caches: &LinkCaches,
    work: &Work,
    reason: &str,
) -> Result<Option<bool>, StepError> {
    let account = work.conn.lever_account_id.as_deref();
    if let Some(hired) = caches.hired_reason(account, reason) {
        return Ok(Some(hired));
    }
    match work.client.list_archive_reasons().await {
        Ok(list) => {
            caches.keep_hired_reasons(list.iter().map(|r| (r.id.clone(), r.is_hired())));
            Ok(caches.hired_reason(account, reason))
        }
        Err(e) if e.status() == Some(403) || e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The close's Lever writes: the live link and the link-created tag off,
/// then the closed (or expired) tag on (an admin's cancel adds none).
async fn take_off_and_tag(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    opp: &Opportunity,
) -> Result<Outcome, StepError> {
    take_link_off(ctx, work, iv, opp).await?;
    let tag = match iv.close_reason {
        Some(CloseReason::Archived | CloseReason::Hired | CloseReason::LeftStage) => {
            work.conn.tag_closed.clone()
        }
        Some(CloseReason::Expired) => work.conn.tag_expired.clone(),
        _ => None,
    };
    if let (Some(tag), None) = (tag, &iv.closed_tag) {
        ensure(ctx, &work.client, opp, Has::Tag, true, &tag).await?;
        let id = iv.id;
        ctx.write(move |c| store::record(c, id, Step::ClosedTagged(&tag)))
            .await?;
    }
    Ok(Outcome::Done)
}

/// Takes the interview's live link and link-created tag off the candidate,
/// and the needs-attention tag if one is on.
pub async fn take_link_off(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    opp: &Opportunity,
) -> Result<(), StepError> {
    ensure(ctx, &work.client, opp, Has::Link, false, &ctx.live_url(iv)).await?;
    // A link step that posted the tag but was cut before recording it
    // used the connection's setting: remove that one then.
    let tag = iv
        .link_tag
        .clone()
        .unwrap_or_else(|| work.conn.tag_link_created.clone());
    ensure(ctx, &work.client, opp, Has::Tag, false, &tag).await?;
    super::attention::unflag(ctx, work, opp).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecyclePolicy::{Close, Keep};

    #[test]
    fn the_policy_for_the_reason_type_decides() {
        assert_eq!(
            close_reason(Some(true), Close, Close),
            Some(CloseReason::Hired)
        );
        assert_eq!(close_reason(Some(true), Close, Keep), None);
        assert_eq!(
            close_reason(Some(false), Close, Keep),
            Some(CloseReason::Archived)
        );
        assert_eq!(close_reason(Some(false), Keep, Close), None);
        // Unknown type: only when both say close.
        assert_eq!(
            close_reason(None, Close, Close),
            Some(CloseReason::Archived)
        );
        assert_eq!(close_reason(None, Close, Keep), None);
        assert_eq!(close_reason(None, Keep, Close), None);
    }
}
