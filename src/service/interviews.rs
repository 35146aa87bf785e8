//! An org's live interviews: the list (newest first, by status or
//! opportunity) and one interview. The live link is always shown; the results link only once a result
//! exists (`completed`, `results_posted`): before that it leads nowhere.

use crate::db::models::interview::outcome::{self as outcomes, InterviewOutcome};
use crate::db::models::interview::steps::{self, LinkTimes};
use crate::db::models::interview::{Interview, InterviewStatus};
use crate::db::models::page::Page;
use crate::domain::ids::{InterviewId, OrgId};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::list::{List, ListQuery, org_page};
use crate::service::validate;
use crate::state::{AppState, Urls};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `status`, `opportunity_id` and the list conventions; one flat struct
/// because `serde(flatten)` breaks numeric query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InterviewsQuery {
    /// `creating`, `link_posted`, `completed`, `results_posted`, `cancelled`,
    /// `failed` or `erased`.
    pub status: Option<String>,
    /// Only interviews of this Lever opportunity.
    pub opportunity_id: Option<String>,
    /// Page size: default 50, values above 200 are clamped to 200.
    #[serde(default, deserialize_with = "crate::service::list::saturating_limit")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl InterviewsQuery {
    fn status(&self) -> Result<Option<InterviewStatus>, ServiceError> {
        validate::status_filter(
            self.status.as_deref(),
            InterviewStatus::ALL,
            InterviewStatus::parse,
        )
    }

    fn opportunity_id(&self) -> Result<Option<String>, ServiceError> {
        match self.opportunity_id.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(o) => validate::bounded_text("opportunity_id", o, 1, 200).map(Some),
        }
    }
}

/// One live interview.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewView {
    pub id: Uuid,
    /// Null once the role was deleted; `role_name` keeps its name as it was.
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
    /// How the posting resolved to the role: `posting_id`, `posting_tag`,
    /// `title`, `fallback`, `any` or `none`.
    pub rule: crate::domain::status::Rule,
    pub opportunity_id: String,
    pub posting_id: Option<String>,
    /// `creating`, `link_posted`, `completed`, `results_posted`, `cancelled`,
    /// `failed` or `erased`.
    pub status: crate::domain::status::InterviewStatus,
    /// Why it closed: `admin`, `archived`, `hired`, `left_stage`, `expired`
    /// or `erased`; null while it never closed. Kept when a completion came
    /// after the close.
    pub close_reason: Option<crate::domain::status::CloseReason>,
    /// The candidate's interview link; null once erased.
    pub live_url: Option<String>,
    /// The results link; null until the interview is completed.
    pub results_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub link_posted_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub results_posted_at: Option<DateTime<Utc>>,
    /// When it closed (see `close_reason`).
    pub closed_at: Option<DateTime<Utc>>,
    /// When its unopened link expires; null: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the interview platform first resolved its live link (an opened
    /// link never expires).
    pub opened_at: Option<DateTime<Utc>>,
    /// `{"score","recommendation","summary"}` once completed, else null.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// The trigger stage the interview was linked from.
    pub stage_id: Option<String>,
    /// `passed` or `not_passed` against the role's pass score; null
    /// without a pass score or a score.
    pub outcome: Option<crate::domain::status::Outcome>,
}

/// An interview with what the side tables hold of it.
pub struct InterviewRow {
    pub interview: Interview,
    pub times: LinkTimes,
    pub outcome: InterviewOutcome,
}

/// Attaches each interview's link times and outcome (two queries).
pub fn with_details(
    conn: &mut diesel::PgConnection,
    ivs: Vec<Interview>,
) -> diesel::QueryResult<Vec<InterviewRow>> {
    let ids: Vec<InterviewId> = ivs.iter().map(|i| i.id).collect();
    let times = steps::link_times(conn, &ids)?;
    let mut found = outcomes::of_many(conn, &ids)?;
    Ok(ivs
        .into_iter()
        .map(|i| InterviewRow {
            times: times.get(&i.id).copied().unwrap_or_default(),
            outcome: found.remove(&i.id).unwrap_or_default(),
            interview: i,
        })
        .collect())
}

impl InterviewView {
    pub fn new(row: InterviewRow, urls: &Urls) -> Self {
        let InterviewRow {
            interview: i,
            times,
            outcome,
        } = row;
        let has_result = i.status.has_result();
        let erased = i.status == crate::domain::status::InterviewStatus::Erased;
        Self {
            // As posted to Lever when it was; else as the settings build it.
            live_url: (!erased).then(|| {
                i.live_url
                    .clone()
                    .unwrap_or_else(|| format!("{}/{}", urls.live, i.live_token))
            }),
            results_url: has_result.then(|| {
                i.results_url
                    .clone()
                    .unwrap_or_else(|| format!("{}/{}", urls.results, i.results_token))
            }),
            id: i.id.0,
            role_id: i.role_id.map(|r| r.0),
            role_name: i.role_name,
            rule: i.rule,
            opportunity_id: i.opportunity_id,
            posting_id: i.posting_id,
            status: i.status,
            close_reason: i.close_reason,
            closed_at: i.cancelled_at,
            expires_at: times.expires_at,
            opened_at: times.opened_at,
            created_at: i.created_at,
            link_posted_at: i.link_posted_at,
            completed_at: i.completed_at,
            results_posted_at: i.results_posted_at,
            result: i.result,
            stage_id: outcome.stage_id,
            outcome: outcome.outcome,
        }
    }
}

/// One page of `org`'s interviews, newest first.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &InterviewsQuery,
) -> Result<List<InterviewView>, ServiceError> {
    let status = query.status()?;
    let opportunity = query.opportunity_id()?;
    let list = ListQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let load = move |conn: &mut diesel::PgConnection, page| {
        let page = Interview::list_for_org(conn, org.0, status, opportunity.as_deref(), page)?;
        Ok(Page {
            items: with_details(conn, page.items)?,
            next: page.next,
        })
    };
    org_page(state, caller, org, KeyRole::Member, &list, load, |i| {
        InterviewView::new(i, &state.urls)
    })
    .await
}

/// One interview of `org`.
#[tracing::instrument(skip_all, fields(org = %org, interview_id = %id))]
pub async fn get(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: InterviewId,
) -> Result<InterviewView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    let row = state
        .db
        .run(move |conn| {
            let i = Interview::find_for_org(conn, org.0, id.0)?;
            Ok(with_details(conn, vec![i])?)
        })
        .await
        .map_err(|e| ServiceError::from(e).naming("interview"))?
        .pop()
        .ok_or_else(|| ServiceError::not_found("interview"))?;
    Ok(InterviewView::new(row, &state.urls))
}

/// The interview platform resolved interview `id`'s live link: it is
/// opened, and its link never expires from now on.
pub async fn opened(state: &AppState, id: InterviewId) -> Result<(), ServiceError> {
    state
        .db
        .run(move |conn| Ok(steps::mark_opened(conn, id)?))
        .await?;
    Ok(())
}
