//! A completion's PDF report (docs/contract/results.md): one page made by
//! the `results-pdf` crate (role, score, recommendation, summary, results
//! link, completion time; never the candidate's name or email), uploaded
//! as a file named `Arkiter Live - <role>.pdf`, at most once per
//! completion. The PDF is byte-stable, so a file of our name and exact
//! size on the opportunity is ours.

use serde_json::Value;

use super::context::{AccountCtx, Work};
use super::outcome::StepError;
use super::written::{Written, refused_or};
use crate::db::models::interview::Interview;
use crate::db::models::interview::outcome::{self as outcomes, ResultStep};
use crate::lever::LeverClient;

/// The scope an upload needs.
pub const SCOPE: &str = "files:write:admin";

/// The file's name on the candidate.
pub fn file_name(iv: &Interview) -> String {
    let role = iv.role_name.as_deref().unwrap_or("interview");
    // A path separator would read as a folder in some downloads.
    let role: String = role
        .chars()
        .map(|c| if c == '/' || c == '\\' { '-' } else { c })
        .collect();
    format!("Arkiter Live - {role}.pdf")
}

/// The report's bytes.
pub fn render(iv: &Interview, results: &str) -> Vec<u8> {
    let r = iv.result.clone().unwrap_or_default();
    let text = |k: &str| r.get(k).and_then(Value::as_str);
    let completed = iv
        .completed_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    results_pdf::render(&results_pdf::Report {
        role: iv.role_name.as_deref().unwrap_or("Arkiter Live interview"),
        score: r.get("score").and_then(Value::as_f64),
        recommendation: text("recommendation"),
        summary: text("summary"),
        results_url: results,
        completed_at: &completed,
    })
}

/// Uploads the report unless ours is there; `Instead` says why the note
/// stands in for it.
pub async fn write(
    ctx: &AccountCtx,
    work: &Work,
    iv: &Interview,
    results: &str,
    sent_before: bool,
) -> Result<Written, StepError> {
    if let Some(missing) = super::written::missing_scope(work, &[SCOPE]) {
        return Ok(Written::Instead(format!(
            "the grant lacks {missing}: connect again to grant it"
        )));
    }
    if work.conn.perform_as.is_none() {
        return Ok(Written::Instead(
            "Lever requires perform_as for file uploads: set a Lever user on Lever · Live".into(),
        ));
    }
    let (name, bytes) = (file_name(iv), render(iv, results));
    let c = &work.client;
    // Sent by an earlier attempt and not recorded: it may be there.
    if sent_before && let Some(id) = find(c, &iv.opportunity_id, &name, bytes.len()).await? {
        return Ok(Written::Done(id));
    }
    let id = iv.id;
    ctx.write(move |d| outcomes::record_result(d, id, ResultStep::FileSending))
        .await?;
    ctx.may_write()?;
    match c
        .upload_file(&iv.opportunity_id, &name, "application/pdf", &bytes)
        .await
    {
        Ok(id) => Ok(Written::Done(id)),
        Err(e) if e.is_outcome_unknown() => {
            if e.is_cut_write() {
                actix_rt::time::sleep(ctx.late_landing).await;
            }
            if let Some(id) = find(c, &iv.opportunity_id, &name, bytes.len()).await? {
                return Ok(Written::Done(id));
            }
            ctx.may_write()?;
            Ok(Written::Done(
                c.upload_file(&iv.opportunity_id, &name, "application/pdf", &bytes)
                    .await?,
            ))
        }
        Err(e) => refused_or(ctx, work, "PDF file", e).await,
    }
}

/// Our file on the opportunity: our name and the report's exact size.
async fn find(
    c: &LeverClient,
    opp: &str,
    name: &str,
    size: usize,
) -> Result<Option<String>, StepError> {
    Ok(c.list_files(opp)
        .await?
        .into_iter()
        .find(|f| f.name.as_deref() == Some(name) && f.bytes() == Some(size as u64))
        .map(|f| f.id))
}
