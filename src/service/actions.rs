//! What the interview platform and admins do to an interview or an event:
//! complete, cancel, re-invite and replay. Each runs in one transaction that writes
//! through the tables' own modules and queues a NOTIFY for the instance that
//! runs the account; once it has committed, this process's supervisor is
//! woken too. The Lever writes follow in the pipeline.

use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::db::models::interview::steps as interviews;
use crate::db::models::job as jobs;
use crate::db::models::lever_event::work as events;
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId};
use crate::domain::status::{CloseReason, EventStatus, InterviewStatus, JobKind};
use crate::pipeline::hooks::{ActionPoint, Hooks};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit, actor};
use crate::service::validate;
use crate::state::AppState;

/// The interview platform's result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// 0-100.
    pub score: Option<f64>,
    /// Up to 200 characters.
    pub recommendation: Option<String>,
    /// Up to 4000 characters.
    pub summary: Option<String>,
}

impl Completion {
    /// The result as stored, after the rules.
    fn into_result(self) -> Result<Value, ServiceError> {
        if let Some(s) = self.score
            && !(0.0..=100.0).contains(&s)
        {
            return Err(ServiceError::invalid(
                "score",
                "`score` must be from 0 to 100",
            ));
        }
        let text = |field: &str, v: Option<String>, max| {
            v.map(|v| validate::bounded_text(field, &v, 0, max))
                .transpose()
        };
        Ok(json!({
            "score": self.score,
            "recommendation": text("recommendation", self.recommendation, 200)?,
            "summary": text("summary", self.summary, 4000)?,
        }))
    }
}

/// Stores the platform's result for an interview of `org` and queues the
/// swap of link and tag on Lever. The same result again changes nothing; a
/// different one for a completed interview is a conflict (the first stands).
#[tracing::instrument(skip_all, fields(org = %org, interview_id = %id))]
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: InterviewId,
    completion: Completion,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let result = completion.into_result()?;
    let hooks = state.hooks.clone();
    act(state, move |c| store_completion(c, &hooks, org, id, result)).await
}

/// Cancels an open interview of `org`: its link and tag leave Lever, `/live`
/// answers 410.
#[tracing::instrument(skip_all, fields(org = %org, interview_id = %id))]
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: InterviewId,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let hooks = state.hooks.clone();
    let audit = Audit::new(
        caller,
        org,
        Action::InterviewCancelled,
        "interview cancelled",
    )
    .on(id);
    act(state, move |c| {
        let woken = store_cancel(c, &hooks, org, id)?;
        audit.write(c)?;
        Ok(Some(woken))
    })
    .await
}

/// Re-invites the candidate of a closed interview of `org` that is still
/// in the trigger stage (read from Lever now): a new interview and link,
/// as for a new stage entry. Anything else is a conflict.
#[tracing::instrument(skip_all, fields(org = %org, interview_id = %id))]
pub async fn reinvite(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: InterviewId,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let iv = state
        .db
        .run(move |c| {
            Ok(crate::db::models::interview::Interview::find_for_org(
                c, org.0, id.0,
            )?)
        })
        .await
        .map_err(|e| ServiceError::from(e).naming("interview"))?;
    let closed = iv.status == InterviewStatus::Cancelled
        && iv.close_reason.is_some_and(|r| r != CloseReason::Erased);
    if !closed {
        return Err(ServiceError::conflict(format!(
            "only a closed or expired interview can be re-invited; this one is {}",
            iv.status
        )));
    }
    let conn_id = iv.connection_id;
    let conn = state
        .db
        .run(move |c| {
            Ok(crate::db::models::connection::Connection::find(
                c, conn_id.0,
            )?)
        })
        .await?;
    if conn.trigger_stage_ids().is_empty() {
        return Err(ServiceError::conflict(
            "the connection has no trigger stage yet",
        ));
    }
    if conn.status != crate::domain::status::ConnectionStatus::Active {
        return Err(ServiceError::not_connected());
    }
    let client = state.handles.get(conn_id)?.client(None);
    let opp = client.get_opportunity(&iv.opportunity_id).await?;
    let Some(stage) = opp
        .stage_id()
        .filter(|s| conn.is_trigger_stage(Some(s)))
        .map(str::to_owned)
    else {
        return Err(ServiceError::conflict(
            "the candidate is no longer in an Arkiter Live trigger stage in Lever; move them back to invite them again",
        ));
    };
    let opp_id = iv.opportunity_id.clone();
    let audit = Audit::new(caller, org, Action::InterviewReinvited, "re-invited").on(id);
    act(state, move |c| {
        // Another interview opened meanwhile (a new stage entry, or a
        // re-invite just before): that one is the candidate's interview.
        if interviews::open_of_candidate(c, conn_id, &opp_id)?.is_some() {
            return Err(ServiceError::conflict(
                "the candidate already has an open interview",
            ));
        }
        events::add_reinvite(c, conn_id, org, &opp_id, &stage, id)?;
        audit.write(c)?;
        crate::db::notify::work_due(c, conn_id.0)?;
        Ok(Some(conn_id))
    })
    .await
}

/// Runs a `dead` or `done` event of `org` again. It never makes a second
/// interview for the same stage entry: it re-ensures what that interview's
/// status calls for.
#[tracing::instrument(skip_all, fields(org = %org, event_id = %id))]
pub async fn replay(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: EventId,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let audit = Audit::new(caller, org, Action::EventReplayed, "event replayed").on(id);
    let actor = actor(caller);
    act(state, move |c| {
        let woken = reopen_event(c, org, id, &actor)?;
        audit.write(c)?;
        Ok(Some(woken))
    })
    .await
}

/// The most events one bulk replay takes.
pub const BULK_REPLAY_MAX: i64 = 10_000;

/// `POST .../events/replay`: which dead events to run again.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReplay {
    /// Only `dead`.
    pub status: String,
    /// Events that went dead at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Events that went dead before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Count only; nothing runs.
    #[serde(default)]
    pub dry_run: bool,
}

/// Runs the org's dead events in the window again (at most
/// [`BULK_REPLAY_MAX`], oldest first), each as one replay would, in one
/// transaction; or, with `dry_run`, counts them. Returns the count.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn bulk_replay(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &BulkReplay,
) -> Result<i64, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    if body.status != EventStatus::Dead.as_str() {
        return Err(ServiceError::invalid(
            "status",
            "only `dead` events are replayed in bulk",
        ));
    }
    if let (Some(a), Some(b)) = (body.since, body.until)
        && a >= b
    {
        return Err(ServiceError::invalid(
            "until",
            "`until` must be after `since`",
        ));
    }
    let (since, until, dry) = (body.since, body.until, body.dry_run);
    let window = format!(
        "dead events{}{}",
        since
            .map(|t| format!(" since {}", t.to_rfc3339()))
            .unwrap_or_default(),
        until
            .map(|t| format!(" until {}", t.to_rfc3339()))
            .unwrap_or_default(),
    );
    let caller = caller.clone();
    let woken = state
        .db
        .transaction(move |c| -> Result<_, ServiceError> {
            let found = events::dead_between(c, org, since, until, BULK_REPLAY_MAX)?;
            let count = found.len() as i64;
            if dry {
                return Ok((count, Vec::new()));
            }
            let mut woken: Vec<ConnectionId> = Vec::new();
            for (id, _) in found {
                let connection = reopen_event(c, org, id, &actor(&caller))?;
                if !woken.contains(&connection) {
                    woken.push(connection);
                }
            }
            let summary = format!("{count} {window} replayed");
            Audit::new(&caller, org, Action::EventsBulkReplayed, summary).write(c)?;
            Ok((count, woken))
        })
        .await?;
    for id in woken.1 {
        state.wake.wake(id);
    }
    Ok(woken.0)
}

/// Runs an action in one transaction and wakes the account's supervisor
/// once it has committed (the NOTIFY reaches other instances at commit).
async fn act<F>(state: &AppState, action: F) -> Result<(), ServiceError>
where
    F: FnOnce(&mut PgConnection) -> Result<Option<ConnectionId>, ServiceError> + Send + 'static,
{
    let woken = state.db.transaction(action).await?;
    if let Some(id) = woken {
        state.wake.wake(id);
    }
    Ok(())
}

/// `None`: the same result was already stored (a repeat changes nothing).
fn store_completion(
    c: &mut PgConnection,
    hooks: &Hooks,
    org: OrgId,
    id: InterviewId,
    result: Value,
) -> Result<Option<ConnectionId>, ServiceError> {
    let iv = lock_interview(c, hooks, org, id)?;
    if iv.completed {
        return match iv.result == Some(result) {
            true => Ok(None),
            false => Err(ServiceError::conflict(
                "this interview already has a different result; the first one stands",
            )),
        };
    }
    let shown = match iv.status {
        // Before its link is posted it stays `creating`; the link step shows
        // it completed once the link lands.
        InterviewStatus::Creating => InterviewStatus::Creating,
        InterviewStatus::LinkPosted => InterviewStatus::Completed,
        // Closed because the candidate moved on (archived, hired, ...): the
        // result is still written to Lever; the live link stays off.
        InterviewStatus::Cancelled
            if iv.close_reason.is_some_and(CloseReason::accepts_completion) =>
        {
            InterviewStatus::Completed
        }
        InterviewStatus::Cancelled => {
            return Err(ServiceError::conflict(
                "the interview was cancelled by an admin; no result is taken",
            ));
        }
        other => {
            return Err(ServiceError::conflict(format!("the interview is {other}")));
        }
    };
    interviews::store_result(c, id, &result, shown)?;
    queue(c, iv.connection_id, id, JobKind::Complete).map(Some)
}

fn store_cancel(
    c: &mut PgConnection,
    hooks: &Hooks,
    org: OrgId,
    id: InterviewId,
) -> Result<ConnectionId, ServiceError> {
    let iv = lock_interview(c, hooks, org, id)?;
    if iv.completed || !iv.status.is_open() {
        let now = if iv.completed {
            InterviewStatus::Completed
        } else {
            iv.status
        };
        return Err(ServiceError::conflict(format!(
            "only an open interview can be cancelled; this one is {now}"
        )));
    }
    interviews::cancel(c, id)?;
    queue(c, iv.connection_id, id, JobKind::Cancel)
}

/// The interview of `org`, its row locked until the transaction ends: two
/// actions on one interview (two completions, a completion and a cancel)
/// take turns, and the second sees what the first stored.
fn lock_interview(
    c: &mut PgConnection,
    hooks: &Hooks,
    org: OrgId,
    id: InterviewId,
) -> Result<interviews::ActionView, ServiceError> {
    let key = id.to_string();
    hooks.run_in_action(ActionPoint::Began, &key);
    let iv = interviews::find_for_action(c, org, id)?
        .ok_or_else(|| ServiceError::not_found("interview"))?;
    hooks.run_in_action(ActionPoint::Read, &key);
    Ok(iv)
}

fn reopen_event(
    c: &mut PgConnection,
    org: OrgId,
    id: EventId,
    actor: &str,
) -> Result<ConnectionId, ServiceError> {
    let (status, connection) =
        events::find_for_org(c, org, id)?.ok_or_else(|| ServiceError::not_found("event"))?;
    if !EventStatus::FINISHED.contains(&status) {
        return Err(ServiceError::conflict(format!(
            "only a dead or done event can be replayed; this one is {status}"
        )));
    }
    events::reopen(c, id, actor)?;
    // A link step that went dead left its interview `failed`: the replay
    // runs that step again, and the swap of a completion stored meanwhile.
    if let Some((interview, true)) = interviews::revive_event_interview(c, id)? {
        jobs::add(c, connection, interview, JobKind::Complete)?;
    }
    crate::db::notify::work_due(c, connection.0)?;
    Ok(connection)
}

fn queue(
    c: &mut PgConnection,
    connection: ConnectionId,
    id: InterviewId,
    kind: JobKind,
) -> Result<ConnectionId, ServiceError> {
    jobs::add(c, connection, id, kind)?;
    crate::db::notify::work_due(c, connection.0)?;
    Ok(connection)
}
