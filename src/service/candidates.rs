//! One candidate's data: everything the service holds about an opportunity
//! of an org, as one document (a person's access request), and erasing it
//! (docs/contract/lifecycle.md).

use chrono::Utc;
use serde_json::{Value, json};

use crate::db::models::connection::Connection;
use crate::db::models::erased;
use crate::db::models::interview::Interview;
use crate::db::models::job;
use crate::db::models::lever_event;
use crate::db::models::page::PageRequest;
use crate::domain::ids::{ConnectionId, InterviewId, OrgId};
use crate::domain::status::ConnectionStatus;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::service::interviews::InterviewView;
use crate::service::validate;
use crate::state::AppState;

/// A candidate's interviews are few; more than this many is not a person.
const MAX_INTERVIEWS: i64 = 200;

/// Everything held about `opportunity` in `org`: its interviews (with
/// results), its stored events (with the payloads as received) and the
/// jobs of its interviews. 404 when the service holds nothing of it.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn export(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    opportunity: &str,
) -> Result<Value, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let opp = validate::bounded_text("opportunity_id", opportunity, 1, 200)?;
    let key = opp.clone();
    let audit = Audit::new(caller, org, Action::CandidateExported, "candidate exported").on(&opp);
    let (interviews, events, jobs) = state
        .db
        .transaction(move |c| {
            let page = PageRequest::new(Some(MAX_INTERVIEWS), None);
            let ivs = Interview::list_for_org(c, org.0, None, Some(&key), page)?.items;
            let ids: Vec<InterviewId> = ivs.iter().map(|i| i.id).collect();
            let ivs = crate::service::interviews::with_details(c, ivs)?;
            let events = lever_event::of_candidate(c, org.0, &key)?;
            let jobs = job::of_interviews(c, &ids)?;
            if ivs.is_empty() && events.is_empty() {
                return Err(ServiceError::not_found("candidate"));
            }
            audit.write(c)?;
            Ok((ivs, events, jobs))
        })
        .await?;
    let interviews: Vec<InterviewView> = interviews
        .into_iter()
        .map(|i| InterviewView::new(i, &state.urls))
        .collect();
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            // Stored as received; shown as JSON when it is JSON.
            let payload =
                serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::String(e.payload));
            json!({
                "id": e.id,
                "event": e.event,
                "source": e.source,
                "status": e.status,
                "reason": e.reason,
                "to_stage_id": e.to_stage_id,
                "from_stage_id": e.from_stage_id,
                "triggered_at": chrono::DateTime::from_timestamp_millis(e.triggered_at),
                "received_at": e.received_at,
                "interview_id": e.interview_id,
                "payload": payload,
            })
        })
        .collect();
    Ok(json!({
        "opportunity_id": opp,
        "org_id": org.0,
        "exported_at": Utc::now(),
        "interviews": interviews,
        "events": events,
        "jobs": jobs,
    }))
}

/// Erases what `org` holds about `opportunity`: for each connection holding
/// it, an erase unit (which closes an open interview first, if Lever still
/// has the candidate), or, for a connection not active (no unit runs
/// there, and no Lever write may be made), the erase at once. 404 when the
/// service holds nothing of it.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn erase(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    opportunity: &str,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let opp = validate::bounded_text("opportunity_id", opportunity, 1, 200)?;
    let secrets = state.secrets.clone();
    let audit = Audit::new(caller, org, Action::CandidateErased, "erase requested").on(&opp);
    let found = state
        .db
        .transaction(move |c| {
            let holding = erased::connections_holding(c, org.0, &opp)?;
            if !holding.is_empty() {
                // Before the erases below, which replace the id it names.
                audit.write(c)?;
            }
            for id in &holding {
                let conn = Connection::find(c, *id)?;
                if conn.status == ConnectionStatus::Active {
                    lever_event::work::add_erase(c, ConnectionId(*id), org, &opp)?;
                    crate::db::notify::work_due(c, *id)?;
                } else {
                    erased::erase(c, *id, &opp, &secrets.erased_key(*id, &opp), None)?;
                }
            }
            Ok::<_, ServiceError>(!holding.is_empty())
        })
        .await?;
    match found {
        true => Ok(()),
        false => Err(ServiceError::not_found("candidate")),
    }
}
