//! An org's received Lever events (the inbox), newest first, filtered by
//! `status`, `opportunity_id`, `source`, `reason` and a `since`/`until`
//! window of the time received, each combining with the others.

use crate::db::models::lever_event::{self, EventStatus, EventSummary};
use crate::domain::ids::OrgId;
use crate::domain::status::EventSource;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::list::{List, ListQuery, org_page};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The filters plus the list conventions; one flat struct because
/// `serde(flatten)` breaks numeric query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `pending`, `retrying`, `done`, `ignored` or `dead`.
    pub status: Option<String>,
    /// Only this candidate's events.
    pub opportunity_id: Option<String>,
    /// `webhook`, `sweep`, `reinvite` or `erase`.
    pub source: Option<String>,
    /// Only events with this `reason` (`other_stage`, `erased`, ...).
    pub reason: Option<String>,
    /// Received at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Received before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Page size: default 50, values above 200 are clamped to 200.
    #[serde(default, deserialize_with = "crate::service::list::saturating_limit")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl EventsQuery {
    /// The filters, checked.
    fn filter(&self) -> Result<lever_event::EventFilter, ServiceError> {
        use crate::service::validate::{bounded_text, status_filter, value_filter};
        let text = |name: &str, v: &Option<String>| {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| bounded_text(name, s, 1, 200))
                .transpose()
        };
        Ok(lever_event::EventFilter {
            status: status_filter(self.status.as_deref(), EventStatus::ALL, EventStatus::parse)?,
            source: value_filter(
                "source",
                self.source.as_deref(),
                EventSource::ALL,
                EventSource::parse,
            )?,
            opportunity_id: text("opportunity_id", &self.opportunity_id)?,
            reason: text("reason", &self.reason)?,
            since: self.since,
            until: self.until,
        })
    }
}

/// One received Lever event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub event: String,
    pub opportunity_id: Option<String>,
    pub to_stage_id: Option<String>,
    /// When Lever says the event happened (its `triggeredAt`).
    pub triggered_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// `pending`, `retrying`, `done`, `ignored` or `dead`.
    pub status: crate::domain::status::EventStatus,
    /// Why it was ignored: `test_ping`, `other_event`, `other_stage`, `left_stage`, ...
    pub reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub interview_id: Option<Uuid>,
    /// `webhook`: delivered by Lever; `sweep`: a candidate Lever did not
    /// deliver, found in the stage by a sweep.
    pub source: crate::domain::status::EventSource,
}

impl From<EventSummary> for EventView {
    fn from(e: EventSummary) -> Self {
        Self {
            id: e.id,
            connection_id: e.connection_id,
            event: e.event,
            opportunity_id: e.opportunity_id,
            to_stage_id: e.to_stage_id,
            // Stored values passed the ±15-day freshness check, so they are
            // always representable; the default is unreachable.
            triggered_at: DateTime::from_timestamp_millis(e.triggered_at).unwrap_or_default(),
            received_at: e.received_at,
            status: e.status,
            reason: e.reason,
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            last_error: e.last_error,
            interview_id: e.interview_id,
            source: e.source,
        }
    }
}

/// One page of `org`'s events, newest first.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &EventsQuery,
) -> Result<List<EventView>, ServiceError> {
    let filter = query.filter()?;
    let list = ListQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let load = move |conn: &mut diesel::PgConnection, page| {
        lever_event::list_for_org(conn, org.0, &filter, page)
    };
    org_page(
        state,
        caller,
        org,
        KeyRole::Member,
        &list,
        load,
        EventView::from,
    )
    .await
}
