//! What became of one result kind beyond the note (a feedback form, a PDF
//! file): written, or not, and then the note stands in for it and says
//! why (docs/contract/results.md).

use super::context::{AccountCtx, Work};
use super::outcome::StepError;
use crate::db::models::results_settings as store;
use crate::lever::LeverError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// On Lever: its id.
    Done(String),
    /// Not written; the note is written instead, for this reason.
    Instead(String),
}

/// The first of `scopes` the connection's grant lacks, if any (a grant
/// made before scopes were recorded is taken to hold them).
pub fn missing_scope(work: &Work, scopes: &[&'static str]) -> Option<&'static str> {
    let granted = work.conn.scopes.as_deref()?;
    scopes
        .iter()
        .find(|s| !granted.split_whitespace().any(|g| g == **s))
        .copied()
}

/// A refusal by Lever (a 4xx other than 429, which the client retries) is
/// recorded for the health report and answered with the note instead;
/// anything else is an ordinary step failure, retried.
pub async fn refused_or(
    ctx: &AccountCtx,
    work: &Work,
    what: &'static str,
    e: LeverError,
) -> Result<Written, StepError> {
    match e.status() {
        Some(status) if refusal(status) => {
            let why = format!("Lever refused the {what} (HTTP {status}): {e}");
            let (conn_id, reason) = (work.conn.id, why.clone());
            ctx.write(move |c| store::refused(c, conn_id, what, Some(&reason)))
                .await?;
            tracing::warn!(connection_id = %conn_id, what, status, "Lever refused a result; the note is written instead");
            Ok(Written::Instead(why))
        }
        _ => Err(e.into()),
    }
}

/// A write of `what` went through: an earlier refusal of it is over.
pub async fn accepted(ctx: &AccountCtx, work: &Work, what: &'static str) -> Result<(), StepError> {
    let conn_id = work.conn.id;
    ctx.write(move |c| store::refused(c, conn_id, what, None))
        .await
}

/// A 4xx that refuses this result: not throttling (retried), not the
/// token (refreshed), not an unknown opportunity (the job's own failure).
fn refusal(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 404 | 429)
}
