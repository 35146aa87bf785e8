//! What a role's pass score decides when its interview completes
//! (docs/contract/results.md): the passed or not-passed tag, the
//! interview's `outcome`, and for a passing candidate the move to the
//! role's next stage, made once and only while the candidate is still in
//! the trigger stage it was linked from (a recruiter's own move wins).
//!
//! The outcome is decided once, from the role as it is at the first
//! attempt, and kept: a replay re-ensures the tag that was posted. The
//! completion adds the outcome tag in the same `addTags` call as the
//! completed tag ([`super::results`]), then records it here.

use super::context::{AccountCtx, Work};
use super::outcome::StepError;
use crate::db::models::interview::Interview;
use crate::db::models::interview::outcome::{self as store, InterviewOutcome, Outcome, StageMove};
use crate::db::models::results_settings::ResultsSettings;
use crate::db::models::role::Role;
use crate::lever::LeverClient;

/// What the completion of `iv` decides, and the role's next stage.
pub struct Decision {
    outcome: Outcome,
    /// The tag to post (the setting now, or the one posted before).
    pub tag: Option<String>,
    next_stage: Option<NextStage>,
    /// As stored before this attempt.
    row: InterviewOutcome,
}

/// A role's `on_pass_stage` as the admin named it.
struct NextStage {
    id: Option<String>,
    name: Option<String>,
}

/// The interview's score, if the platform gave one.
fn score(iv: &Interview) -> Option<f64> {
    iv.result.as_ref()?.get("score")?.as_f64()
}

fn decide_from(
    iv: &Interview,
    row: InterviewOutcome,
    role: Option<&Role>,
    tags: &ResultsSettings,
) -> Option<Decision> {
    let next_stage = role.and_then(|r| {
        (r.on_pass_stage_id.is_some() || r.on_pass_stage_name.is_some()).then(|| NextStage {
            id: r.on_pass_stage_id.clone(),
            name: r.on_pass_stage_name.clone(),
        })
    });
    let outcome = match row.outcome {
        Some(o) => o,
        None => {
            let pass = f64::from(role?.pass_score?);
            if score(iv)? >= pass {
                Outcome::Passed
            } else {
                Outcome::NotPassed
            }
        }
    };
    let tag = row.outcome_tag.clone().or_else(|| match outcome {
        Outcome::Passed => tags.tag_passed.clone(),
        Outcome::NotPassed => tags.tag_not_passed.clone(),
    });
    Some(Decision {
        outcome,
        tag,
        next_stage,
        row,
    })
}

/// What the completion of `iv` decides (`None`: no pass score, no score),
/// from what the completion read once: the interview's outcome row, its
/// role as it is now, and the connection's results settings.
pub fn decide(
    iv: &Interview,
    row: &InterviewOutcome,
    role: Option<&Role>,
    tags: &ResultsSettings,
) -> Option<Decision> {
    decide_from(iv, row.clone(), role, tags)
}

/// Records the outcome and its tag (once that tag is on Lever).
pub async fn record(ctx: &AccountCtx, iv: &Interview, d: &Decision) -> Result<(), StepError> {
    if d.row.outcome.is_some() && d.row.outcome_tag == d.tag {
        return Ok(());
    }
    let (id, outcome, tag) = (iv.id, d.outcome, d.tag.clone());
    ctx.write(move |c| store::record_outcome(c, id, outcome, tag.as_deref()))
        .await
}

/// Moves a passing candidate to the role's next stage, once.
pub async fn move_if_passed(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    d: &Decision,
) -> Result<(), StepError> {
    if let (Outcome::Passed, Some(next), None, Some(from)) = (
        d.outcome,
        &d.next_stage,
        d.row.stage_move,
        d.row.stage_id.as_deref(),
    ) {
        let id = iv.id;
        let how = move_once(ctx, &work.client, iv, next, from).await?;
        ctx.write(move |c| store::record_stage_move(c, id, how))
            .await?;
        tracing::info!(interview_id = %id, stage_move = %how, "pass move settled");
    }
    Ok(())
}

/// The next stage's id: as given, or looked up by name (`None`: no stage
/// of that name any more).
async fn next_stage_id(c: &LeverClient, next: &NextStage) -> Result<Option<String>, StepError> {
    if let Some(id) = &next.id {
        return Ok(Some(id.clone()));
    }
    let Some(name) = next.name.as_deref().map(str::trim) else {
        return Ok(None);
    };
    let stages = c.list_stages().await?;
    Ok(stages
        .into_iter()
        .find(|s| s.text.trim().eq_ignore_ascii_case(name))
        .map(|s| s.id))
}

/// Moves the candidate from `from` to the next stage if a fresh read still
/// shows it in `from`. A move whose outcome is unknown is checked by
/// reading again before it is sent again.
async fn move_once(
    ctx: &AccountCtx,
    c: &LeverClient,
    iv: &Interview,
    next: &NextStage,
    from: &str,
) -> Result<StageMove, StepError> {
    let Some(to) = next_stage_id(c, next).await? else {
        return Ok(StageMove::Skipped);
    };
    let now = c.get_opportunity(&iv.opportunity_id).await?;
    if now.stage_id() == Some(to.as_str()) {
        return Ok(StageMove::Moved);
    }
    if now.stage_id() != Some(from) {
        return Ok(StageMove::Skipped);
    }
    ctx.may_write()?;
    match c.move_to_stage(&iv.opportunity_id, &to).await {
        Ok(()) => Ok(StageMove::Moved),
        Err(e) if e.is_outcome_unknown() => {
            if e.is_cut_write() {
                actix_rt::time::sleep(ctx.late_landing).await;
            }
            let again = c.get_opportunity(&iv.opportunity_id).await?;
            if again.stage_id() == Some(to.as_str()) {
                return Ok(StageMove::Moved);
            }
            if again.stage_id() != Some(from) {
                return Ok(StageMove::Skipped);
            }
            ctx.may_write()?;
            c.move_to_stage(&iv.opportunity_id, &to).await?;
            Ok(StageMove::Moved)
        }
        Err(e) => Err(e.into()),
    }
}
