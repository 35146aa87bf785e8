//! One candidate's story, oldest first (`GET /api/v1/orgs/{org}/candidates/
//! {opportunity_id}`): what the service received and found about it, what
//! it decided (the role and the rule that chose it, an event ignored and
//! why), replays, every Lever call made for it, completions and closes,
//! and what the alerts decided about its connection meanwhile.
//! Built from the events, interviews, replays and call records kept; it
//! never shows a payload, a token or anything Lever said about the person
//! (docs/contract/timeline.md).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::db::models::alert_history::{self, AlertMoment};
use crate::db::models::erased;
use crate::db::models::interview::Interview;
use crate::db::models::lever_call::{self, CallRecord};
use crate::db::models::lever_event::{self, CandidateEvent};
use crate::db::models::page::PageRequest;
use crate::domain::ids::OrgId;
use crate::domain::status::{EventSource, EventStatus};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::interviews::{InterviewView, with_details};
use crate::service::validate;
use crate::state::AppState;

/// The most entries one answer holds; older ones with `?before=`.
pub const MAX_ENTRIES: usize = 500;
/// A candidate's interviews are few; more than this many is not a person.
const MAX_INTERVIEWS: i64 = 200;
/// The connection's alerts are shown from the candidate's first moment to
/// this many hours after its last: what happened to the connection while
/// the candidate waited.
const ALERTS_AFTER_HOURS: i64 = 24;

/// One moment of the story.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// `delivery`, `sweep_finding`, `decision`, `lever_call`, `replay`,
    /// `completion`, `close`, `alert`.
    pub kind: &'static str,
    pub summary: String,
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// The candidate's story.
#[derive(Debug, Serialize, ToSchema)]
pub struct Story {
    pub opportunity_id: String,
    pub interviews: Vec<InterviewView>,
    pub timeline: Vec<Entry>,
}

/// `opportunity`'s story in `org`, the newest [`MAX_ENTRIES`] entries
/// before `before` (all when absent), oldest first. 404 when the service
/// never heard of it, or it was erased.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn story(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    opportunity: &str,
    before: Option<DateTime<Utc>>,
) -> Result<Story, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    let opp = validate::bounded_text("opportunity_id", opportunity, 1, 200)?;
    let key = opp.clone();
    let secrets = state.secrets.clone();
    let (rows, events, replays, calls, alerts) = state
        .db
        .run(move |c| {
            let page = PageRequest::new(Some(MAX_INTERVIEWS), None);
            let ivs = Interview::list_for_org(c, org.0, None, Some(&key), page)?.items;
            let events = lever_event::of_candidate(c, org.0, &key)?;
            let ids: Vec<_> = events.iter().map(|e| e.id).collect();
            let replays = lever_event::replays_of(c, &ids)?;
            let mut calls = Vec::new();
            let conns = erased::connections_holding(c, org.0, &key)?;
            for conn in &conns {
                let hashed = secrets.erased_key(*conn, &key);
                calls.extend(lever_call::of_candidate(
                    c,
                    *conn,
                    &hashed,
                    MAX_ENTRIES as i64,
                )?);
            }
            let alerts = match span(&events, &ivs) {
                Some((from, to)) => alert_history::between(
                    c,
                    &conns,
                    from,
                    to + chrono::Duration::hours(ALERTS_AFTER_HOURS),
                    MAX_ENTRIES as i64,
                )?,
                None => Vec::new(),
            };
            Ok((with_details(c, ivs)?, events, replays, calls, alerts))
        })
        .await?;
    if rows.is_empty() && events.is_empty() {
        return Err(ServiceError::not_found("candidate"));
    }
    let mut timeline: Vec<Entry> = events.iter().flat_map(event_entries).collect();
    timeline.extend(replays.into_iter().map(replay_entry));
    timeline.extend(calls.into_iter().map(call_entry));
    timeline.extend(alerts.into_iter().map(alert_entry));
    timeline.extend(
        rows.iter()
            .flat_map(|r| interview_entries(&r.interview, r.outcome.stage_id.as_deref())),
    );
    timeline.retain(|e| before.is_none_or(|b| e.at < b));
    timeline.sort_by_key(|e| e.at);
    let skip = timeline.len().saturating_sub(MAX_ENTRIES);
    let timeline = timeline.split_off(skip);
    let mut interviews: Vec<InterviewView> = rows
        .into_iter()
        .map(|r| InterviewView::new(r, &state.urls))
        .collect();
    interviews.reverse();
    Ok(Story {
        opportunity_id: opp,
        interviews,
        timeline,
    })
}

/// A stored event: what came in (or what a sweep found), and, for one
/// ignored, why.
fn event_entries(e: &CandidateEvent) -> Vec<Entry> {
    let kind = match e.source {
        EventSource::Webhook => "delivery",
        EventSource::Sweep => "sweep_finding",
        // An admin's re-invite or erase.
        EventSource::Reinvite | EventSource::Erase => "decision",
    };
    let mut out = vec![Entry {
        at: e.received_at,
        kind,
        summary: format!("{} ({}), {}", e.event, e.source, e.status),
        detail: json!({
            "event_id": e.id,
            "event": e.event,
            "source": e.source,
            "status": e.status,
            "to_stage_id": e.to_stage_id,
            "from_stage_id": e.from_stage_id,
            "triggered_at": DateTime::from_timestamp_millis(e.triggered_at),
            "interview_id": e.interview_id,
        }),
    }];
    if e.status == EventStatus::Ignored {
        let reason = e.reason.as_deref().unwrap_or("ignored");
        out.push(Entry {
            at: e.received_at,
            kind: "decision",
            summary: format!("ignored: {reason}"),
            detail: json!({"event_id": e.id, "reason": reason}),
        });
    }
    out
}

/// An admin ran an event again.
fn replay_entry((event_id, at, actor): (uuid::Uuid, DateTime<Utc>, String)) -> Entry {
    Entry {
        at,
        kind: "replay",
        summary: format!("event replayed by {actor}"),
        detail: json!({"event_id": event_id, "actor": actor}),
    }
}

/// One HTTP attempt made to Lever for the candidate: never a body, a query
/// or an id from the URL.
fn call_entry(r: CallRecord) -> Entry {
    let status = r
        .status
        .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
    Entry {
        at: r.sent_at,
        kind: "lever_call",
        summary: format!("{} → {status} (attempt {})", r.route, r.attempt),
        detail: json!({
            "endpoint": r.route,
            "status": r.status,
            "duration_ms": r.duration_ms,
            "attempt": r.attempt,
            "unit_id": r.unit_id,
        }),
    }
}

/// When the candidate's story starts and ends, from its events and
/// interviews (the Lever calls fall within them); `None` when it has none.
fn span(events: &[CandidateEvent], ivs: &[Interview]) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let moments = events
        .iter()
        .map(|e| e.received_at)
        .chain(ivs.iter().flat_map(|i| {
            [Some(i.created_at), i.completed_at, i.cancelled_at]
                .into_iter()
                .flatten()
        }));
    moments.fold(None, |span, at| match span {
        None => Some((at, at)),
        Some((from, to)) => Some((from.min(at), to.max(at))),
    })
}

/// What the alerts decided about the candidate's connection meanwhile.
fn alert_entry(m: AlertMoment) -> Entry {
    Entry {
        at: m.at,
        kind: "alert",
        summary: format!("{} {}: {}", m.kind, m.code, m.message),
        detail: json!({"type": m.kind, "code": m.code, "message": m.message,
                       "connection_id": m.connection_id}),
    }
}

/// An interview: the role chosen, its completion and its close.
fn interview_entries(i: &Interview, stage: Option<&str>) -> Vec<Entry> {
    let role = i.role_name.as_deref().unwrap_or("no role");
    let mut out = vec![Entry {
        at: i.created_at,
        kind: "decision",
        summary: format!("role {role} by rule {}", i.rule),
        detail: json!({"interview_id": i.id.0, "role_id": i.role_id.map(|r| r.0),
                       "role_name": i.role_name, "rule": i.rule, "stage_id": stage}),
    }];
    if let Some(at) = i.completed_at {
        out.push(Entry {
            at,
            kind: "completion",
            summary: "the interview platform reported the result".to_owned(),
            detail: json!({"interview_id": i.id.0, "status": i.status}),
        });
    }
    if let (Some(at), Some(reason)) = (i.cancelled_at, i.close_reason) {
        out.push(Entry {
            at,
            kind: "close",
            summary: format!("closed: {reason}"),
            detail: json!({"interview_id": i.id.0, "close_reason": reason}),
        });
    }
    out
}
