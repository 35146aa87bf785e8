//! Usage per org, for the operator (`GET /api/v1/usage`, the super-admin
//! token only): what each org used over the last 24 hours and 30 days.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::org::Org;
use crate::db::models::usage::{self, OrgUsage};
use crate::service::ServiceError;
use crate::service::access::Caller;
use crate::service::list::{List, ListQuery};
use crate::state::AppState;

/// Counts over one window.
#[derive(Debug, Serialize, ToSchema)]
pub struct Window {
    /// Signed deliveries received from Lever.
    pub deliveries: i64,
    /// Interviews whose link was posted.
    pub interviews_linked: i64,
    /// Interviews the platform completed.
    pub interviews_completed: i64,
    /// Lever calls (each HTTP attempt) made for the org's candidates.
    pub lever_calls: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub org_id: Uuid,
    pub name: String,
    /// Connections not disconnected.
    pub connections: i64,
    pub last_24_hours: Window,
    pub last_30_days: Window,
}

/// One page of orgs (oldest first) with their usage.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &ListQuery,
) -> Result<List<UsageView>, ServiceError> {
    caller.require_super()?;
    let page = query.page()?;
    let (orgs, figures) = state
        .db
        .run(move |c| {
            let orgs = Org::list(c, page)?;
            let ids: Vec<Uuid> = orgs.items.iter().map(|o| o.id).collect();
            let figures = usage::of_orgs(c, &ids)?;
            Ok((orgs, figures))
        })
        .await?;
    let by_org: std::collections::HashMap<Uuid, OrgUsage> =
        figures.into_iter().map(|f| (f.org_id, f)).collect();
    Ok(List::from_page(orgs, |o| {
        let f = by_org.get(&o.id).cloned();
        view(o, f)
    }))
}

fn view(o: Org, f: Option<OrgUsage>) -> UsageView {
    let f = f.unwrap_or(OrgUsage {
        org_id: o.id,
        connections: 0,
        deliveries_24h: 0,
        deliveries_30d: 0,
        linked_24h: 0,
        linked_30d: 0,
        completed_24h: 0,
        completed_30d: 0,
        lever_calls_24h: 0,
        lever_calls_30d: 0,
    });
    UsageView {
        org_id: o.id,
        name: o.name,
        connections: f.connections,
        last_24_hours: Window {
            deliveries: f.deliveries_24h,
            interviews_linked: f.linked_24h,
            interviews_completed: f.completed_24h,
            lever_calls: f.lever_calls_24h,
        },
        last_30_days: Window {
            deliveries: f.deliveries_30d,
            interviews_linked: f.linked_30d,
            interviews_completed: f.completed_30d,
            lever_calls: f.lever_calls_30d,
        },
    }
}
