//! The sweep's reconciliation of archives (docs/contract/lifecycle.md): an
//! archive or hire whose delivery Lever never made (the webhook group off,
//! the webhook deleted, Lever's tries used up) would leave a live link on
//! the candidate. So each sweep lists the archives since the previous one,
//! `GET /opportunities?archived=true&archived_at_start=`, 100 a page, and
//! records those of candidates with an open interview as `sweep` events,
//! which the close unit works as it would the delivery (it reads the
//! opportunity again and applies the policy). With no open interview there
//! is nothing to reconcile and no call is made.

use std::future::Future;

use super::run::{SweepDeps, SweepError, SweepTarget, fenced_write, list_each};
use crate::db::models::lever_event::findings as store;

/// Lists the archives since the window's start and records the findings;
/// returns the opportunity ids recorded.
pub(super) async fn archives<Y, F>(
    deps: &SweepDeps,
    target: &SweepTarget,
    yield_now: &mut Y,
) -> Result<Vec<String>, SweepError>
where
    Y: FnMut() -> F,
    F: Future<Output = ()>,
{
    let id = target.connection_id;
    let start = deps
        .db
        .run(move |c| Ok(store::archive_window_start(c, id)?))
        .await?;
    let Some(start) = start else {
        return Ok(Vec::new());
    };
    let filter = target.with_confidential(vec![
        ("archived", "true".to_owned()),
        ("archived_at_start", start.to_string()),
    ]);
    let archived = list_each(deps, &filter, yield_now, |o| {
        o.archived()
            .map(|a| (o.id.clone(), a.archived_at.unwrap_or(start)))
    })
    .await?;
    if archived.is_empty() {
        return Ok(Vec::new());
    }
    let org = target.org_id;
    fenced_write(deps, id, move |c| {
        let found = store::record_archive_findings(c, id, org, &archived)?;
        if !found.is_empty() {
            crate::db::notify::work_due(c, id)?;
        }
        Ok(found)
    })
    .await
}
