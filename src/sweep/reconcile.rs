//! The sweep's reconciliation of archives and deletions
//! (docs/contract/lifecycle.md): an archive, hire or deletion whose delivery
//! Lever never made (the webhook group off, the webhook deleted, Lever's
//! tries used up) would leave a live link on the candidate, or its data
//! here. So each sweep lists the archives and the deletions since the
//! previous one (`GET /opportunities?archived=true&archived_at_start=` and
//! `GET /opportunities/deleted?deleted_at_start=`, 100 a page) and records
//! those of candidates with an open interview as `sweep` events, which the
//! close and erase units work as they would the delivery (reading Lever
//! again first). With no open interview there is nothing to reconcile and
//! no call is made.

use std::future::Future;

use super::run::{SweepDeps, SweepError, SweepTarget, fenced_write, list_each};
use crate::db::models::lever_event::findings::{self as store, LifecycleFinding};

/// Lists the archives and deletions since the window's start and records
/// the findings; returns the opportunity ids recorded.
pub(super) async fn lifecycle<Y, F>(
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
        .run(move |c| Ok(store::lifecycle_window_start(c, id)?))
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
    let mut found = record(deps, target, LifecycleFinding::Archived, archived).await?;
    yield_now().await;
    let deleted = deps
        .client
        .list_deleted_opportunities(start)
        .await?
        .into_iter()
        .filter_map(|d| Some((d.id?, d.deleted_at.unwrap_or(start))))
        .collect();
    found.extend(record(deps, target, LifecycleFinding::Deleted, deleted).await?);
    Ok(found)
}

/// Records the findings of one kind, waking the account's worker for them.
async fn record(
    deps: &SweepDeps,
    target: &SweepTarget,
    kind: LifecycleFinding,
    changed: Vec<(String, i64)>,
) -> Result<Vec<String>, SweepError> {
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let (id, org) = (target.connection_id, target.org_id);
    fenced_write(deps, id, move |c| {
        let found = store::record_lifecycle_findings(c, id, org, kind, &changed)?;
        if !found.is_empty() {
            crate::db::notify::work_due(c, id)?;
        }
        Ok(found)
    })
    .await
}
