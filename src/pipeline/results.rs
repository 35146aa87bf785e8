//! The tag updater's work. Completion: add the results link, remove the
//! interview link, add the completed tag, remove the link-created tag the
//! interview actually posted, then the results the connection asks for (a
//! feedback form, [`super::feedback`]; a PDF file, [`super::report_file`];
//! the note, which also stands in for either when it cannot be written),
//! then what the role's pass score decides ([`super::pass`]). A note, form
//! or file is recorded as being sent before it is sent: only an attempt
//! after such a record reads Lever for it first.
//! Cancellation: remove the interview link and the link-created tag
//! ([`super::close::take_link_off`]). Each
//! step is checked against a fresh read, and a note whose outcome is unknown
//! is looked for among the opportunity's notes before it is sent again.

use super::context::{AccountCtx, UnitClaim, Work, settled};
use super::outcome::{Outcome, StepError};
use super::writes::{Has, ensure, ensure_all};
use super::written::Written;
use crate::db::models::interview::Interview;
use crate::db::models::interview::outcome::{self as outcomes, InterviewOutcome, ResultStep};
use crate::db::models::results_settings::ResultsSettings;
use crate::db::models::role::Role;
use crate::db::models::work::{self as store, JobWork, Step};
use crate::domain::ids::InterviewId;
use crate::domain::status::{InterviewStatus, JobKind};
use crate::lever::LeverClient;
use crate::lever::wire::{NoteCreate, Opportunity};

pub async fn run(ctx: &AccountCtx, job: &JobWork, claim: &UnitClaim) -> Outcome {
    settled(attempt(ctx, job, claim).await)
}

async fn attempt(ctx: &AccountCtx, job: &JobWork, claim: &UnitClaim) -> Result<Outcome, StepError> {
    let work = ctx.begin(claim).await?;
    if let Some(paused) = work.paused() {
        return Ok(paused);
    }
    let id = job.interview_id;
    let iv = ctx.db.run(move |c| Ok(store::interview(c, id)?)).await?;
    match job.kind {
        JobKind::Complete => complete(ctx, &work, &iv).await,
        JobKind::Cancel => cancel(ctx, &work, &iv).await,
        JobKind::Expire => super::close::expire(ctx, &work, &iv).await,
    }
}

async fn complete(ctx: &AccountCtx, work: &Work, iv: &Interview) -> Result<Outcome, StepError> {
    if iv.status == InterviewStatus::Failed {
        // Its link step went dead: no link was ever posted, so there is
        // nothing to swap. The result stays stored; the job ends here.
        return Ok(Outcome::Abandoned(
            "the interview failed before its link was posted (its event went dead: see the events list); the result is kept"
                .into(),
        ));
    }
    if iv.link_posted_at.is_none() && iv.close_reason.is_none() {
        // The completion came before the link step finished: wait for it
        // (it runs before this job, which the per-candidate claim ensures).
        // A closed interview's link step never finishes: it goes ahead.
        return Ok(Outcome::NotYet);
    }
    let opp = work.client.get_opportunity(&iv.opportunity_id).await?;
    ensure_completed(ctx, work, iv, &opp).await
}

/// Makes Lever show a completed interview.
pub async fn ensure_completed(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    opp: &Opportunity,
) -> Result<Outcome, StepError> {
    let c = &work.client;
    let id = iv.id;
    let results = ctx.results_url(iv);
    ensure(ctx, c, opp, Has::Link, true, &results).await?;
    if iv.results_link_added_at.is_none() {
        let url = results.clone();
        ctx.write(move |d| store::record(d, id, Step::ResultsLinkAdded(&url)))
            .await?;
    }
    ensure(ctx, c, opp, Has::Link, false, &ctx.live_url(iv)).await?;
    record_once(
        ctx,
        id,
        iv.live_link_removed_at.is_none(),
        Step::LiveLinkRemoved,
    )
    .await?;
    let done_tag = iv
        .completed_tag
        .clone()
        .unwrap_or_else(|| work.conn.tag_completed.clone());
    // The outcome tag, if the role's pass score gives one, goes on in the
    // same call as the completed tag.
    let (settings, row, role) = stored(ctx, iv).await?;
    let decision = super::pass::decide(iv, &row, role.as_ref(), &settings);
    let mut tags = vec![done_tag.clone()];
    tags.extend(decision.as_ref().and_then(|d| d.tag.clone()));
    ensure_all(ctx, c, opp, Has::Tag, true, &tags).await?;
    if let Some(d) = &decision {
        super::pass::record(ctx, iv, d).await?;
    }
    if iv.completed_tag_added_at.is_none() {
        let t = done_tag.clone();
        ctx.write(move |d| store::record(d, id, Step::CompletedTagAdded(&t)))
            .await?;
    }
    if let Some(tag) = &iv.link_tag {
        ensure(ctx, c, opp, Has::Tag, false, tag).await?;
    }
    record_once(
        ctx,
        id,
        iv.link_tag_removed_at.is_none(),
        Step::LinkTagRemoved,
    )
    .await?;
    write_results(ctx, work, iv, &results, &settings, &row).await?;
    if let Some(d) = &decision {
        super::pass::move_if_passed(ctx, work, iv, d).await?;
    }
    ctx.write(move |d| store::record(d, id, Step::ResultsPosted))
        .await?;
    if let Some(at) = iv
        .completed_at
        .filter(|_| iv.status == InterviewStatus::Completed)
    {
        super::metrics::results_posted(at);
    }
    tracing::info!(interview_id = %id, opportunity_id = %iv.opportunity_id, "results posted");
    Ok(Outcome::Done)
}

/// The results the connection asks for: a feedback form and a PDF file
/// (each at most once), and the note, which also stands in for a form or
/// file that could not be written.
async fn write_results(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    results: &str,
    settings: &ResultsSettings,
    row: &InterviewOutcome,
) -> Result<(), StepError> {
    let id = iv.id;
    let mut instead = row.note_instead.clone().unwrap_or_default();
    let kinds = [
        (FEEDBACK, settings.feedback && row.feedback_id.is_none()),
        (PDF, settings.pdf && row.file_id.is_none()),
    ];
    for (kind, wanted) in kinds {
        if !wanted || row.note_stands_in_for(kind) {
            continue;
        }
        let written = match kind {
            FEEDBACK => {
                let sent = row.feedback_sent_at.is_some();
                super::feedback::write(ctx, work, iv, results, sent).await?
            }
            _ => {
                let sent = row.file_sent_at.is_some();
                super::report_file::write(ctx, work, iv, results, sent).await?
            }
        };
        match written {
            Written::Done(lever_id) => {
                ctx.write(move |c| {
                    let step = match kind {
                        FEEDBACK => ResultStep::Feedback(&lever_id),
                        _ => ResultStep::File(&lever_id),
                    };
                    outcomes::record_result(c, id, step)
                })
                .await?;
                super::written::accepted(ctx, work, kind).await?;
            }
            Written::Instead(why) => {
                // Kept before the note is written, so a retry knows the
                // note stands in for it and does not try the kind again.
                instead = format!("{instead}{kind}: {why}\n");
                let lines = instead.clone();
                ctx.write(move |c| outcomes::record_result(c, id, ResultStep::NoteInstead(&lines)))
                    .await?;
            }
        }
    }
    if (settings.note || !instead.is_empty()) && iv.note_id.is_none() {
        let sent = row.note_sent_at.is_some();
        let note_id = post_note(ctx, &work.client, iv, results, sent).await?;
        ctx.write(move |d| store::record(d, id, Step::NotePosted(&note_id)))
            .await?;
    }
    Ok(())
}

/// What a completion reads once, in one round trip: the connection's
/// results settings, the interview's outcome row and its role as it is now
/// (none once deleted).
async fn stored(
    ctx: &AccountCtx,
    iv: &Interview,
) -> Result<(ResultsSettings, InterviewOutcome, Option<Role>), StepError> {
    let (id, conn_id, role_id) = (iv.id, iv.connection_id, iv.role_id);
    ctx.db
        .run(move |c| {
            let role = match role_id {
                Some(r) => Role::outcome_settings(c, r.0)?,
                None => None,
            };
            Ok((
                ResultsSettings::load(c, conn_id.0)?,
                outcomes::of(c, id)?,
                role,
            ))
        })
        .await
        .map_err(StepError::from)
}

/// The result kinds beyond the note, as named in `note_instead` and in a
/// refusal.
const FEEDBACK: &str = "feedback form";
const PDF: &str = "PDF file";

async fn record_once(
    ctx: &AccountCtx,
    id: InterviewId,
    needed: bool,
    step: Step<'static>,
) -> Result<(), StepError> {
    if needed {
        ctx.write(move |d| store::record(d, id, step)).await?;
    }
    Ok(())
}

/// The note's text; it names the results URL, which is how a note of ours is
/// recognised when its creation's outcome was unknown.
fn note_text(iv: &Interview, results: &str) -> String {
    let r = iv.result.clone().unwrap_or_default();
    let mut lines = vec![format!(
        "Arkiter Live interview completed ({}).",
        iv.role_name.as_deref().unwrap_or("no role")
    )];
    if let Some(s) = r.get("score").and_then(|v| v.as_f64()) {
        lines.push(format!("Score: {s}/100"));
    }
    if let Some(s) = r.get("recommendation").and_then(|v| v.as_str()) {
        lines.push(format!("Recommendation: {s}"));
    }
    if let Some(s) = r.get("summary").and_then(|v| v.as_str()) {
        lines.push(format!("Summary: {s}"));
    }
    lines.push(format!("Results: {results}"));
    lines.join("\n")
}

async fn find_note(c: &LeverClient, opp: &str, results: &str) -> Result<Option<String>, StepError> {
    let notes = c.list_notes(opp).await?;
    Ok(notes
        .into_iter()
        .find(|n| n.body().is_some_and(|b| b.contains(results)))
        .map(|n| n.id))
}

/// Posts the note, at most once. A note sent by an earlier attempt (its
/// sending was recorded first) but not recorded as posted may have landed
/// (a cut answer, a crash): it is looked for among the opportunity's notes
/// before anything is sent again. A first attempt writes without that read.
async fn post_note(
    ctx: &AccountCtx,
    c: &LeverClient,
    iv: &Interview,
    results: &str,
    sent_before: bool,
) -> Result<String, StepError> {
    if sent_before && let Some(id) = find_note(c, &iv.opportunity_id, results).await? {
        return Ok(id);
    }
    let id = iv.id;
    ctx.write(move |d| outcomes::record_result(d, id, ResultStep::NoteSending))
        .await?;
    ctx.may_write()?;
    let note = NoteCreate {
        value: note_text(iv, results),
        secret: None,
        score: None,
        notify_followers: None,
        created_at: None,
    };
    match c.create_note(&iv.opportunity_id, &note).await {
        Ok(id) => Ok(id),
        Err(e) if e.is_outcome_unknown() => {
            if e.is_cut_write() {
                actix_rt::time::sleep(ctx.late_landing).await;
            }
            match find_note(c, &iv.opportunity_id, results).await? {
                Some(id) => Ok(id),
                None => {
                    ctx.may_write()?;
                    Ok(c.create_note(&iv.opportunity_id, &note).await?)
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

async fn cancel(ctx: &AccountCtx, work: &Work, iv: &Interview) -> Result<Outcome, StepError> {
    let opp = work.client.get_opportunity(&iv.opportunity_id).await?;
    super::close::take_link_off(ctx, work, iv, &opp).await?;
    Ok(Outcome::Done)
}
