//! What the interview platform and admins ask of an interview or an event:
//! complete, cancel and replay, as domain functions that the admin API and
//! the console share.
//!
//! Each runs inside the caller's transaction, writes through the tables' own
//! modules ([`super::store`]), queues a NOTIFY for the instance that runs the
//! account, and returns the connection whose supervisor to wake once the
//! transaction commits. The Lever writes follow in the pipeline.

use diesel::PgConnection;
use serde_json::Value;

use super::store::{events, interviews, jobs};
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId};
use crate::domain::status::{EventStatus, InterviewStatus, JobKind};

/// Why an action was refused, or the database failure that stopped it.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such interview or event in this org (another org's id included).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The interview or event is not in a state the action applies to.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Stores the platform's result and queues the swap of link and tag.
/// `None`: the same result was already stored (a repeat changes nothing).
pub fn complete(
    c: &mut PgConnection,
    org: OrgId,
    id: InterviewId,
    result: Value,
) -> Result<Option<ConnectionId>, ActionError> {
    let iv = interviews::find_for_action(c, org, id)?.ok_or(ActionError::NotFound("interview"))?;
    if iv.completed {
        return match iv.result == Some(result) {
            true => Ok(None),
            false => Err(ActionError::Conflict(
                "this interview already has a different result; the first one stands".into(),
            )),
        };
    }
    let shown = match iv.status {
        // Before its link is posted it stays `creating`; the link step shows
        // it completed once the link lands.
        InterviewStatus::Creating => InterviewStatus::Creating,
        InterviewStatus::LinkPosted => InterviewStatus::Completed,
        other => return Err(ActionError::Conflict(format!("the interview is {other}"))),
    };
    interviews::store_result(c, id, &result, shown)?;
    queue(c, iv.connection_id, id, JobKind::Complete).map(Some)
}

/// Cancels an open interview: its link and tag leave Lever, `/live` answers 410.
pub fn cancel(
    c: &mut PgConnection,
    org: OrgId,
    id: InterviewId,
) -> Result<ConnectionId, ActionError> {
    let iv = interviews::find_for_action(c, org, id)?.ok_or(ActionError::NotFound("interview"))?;
    if iv.completed || !iv.status.is_open() {
        let now = if iv.completed {
            InterviewStatus::Completed
        } else {
            iv.status
        };
        return Err(ActionError::Conflict(format!(
            "only an open interview can be cancelled; this one is {now}"
        )));
    }
    interviews::cancel(c, id)?;
    queue(c, iv.connection_id, id, JobKind::Cancel)
}

/// Runs a `dead` or `done` event again. It never makes a second interview
/// for the same stage entry: it re-ensures what that interview's status
/// calls for.
pub fn replay(c: &mut PgConnection, org: OrgId, id: EventId) -> Result<ConnectionId, ActionError> {
    let (status, connection) =
        events::find_for_org(c, org, id)?.ok_or(ActionError::NotFound("event"))?;
    if !EventStatus::FINISHED.contains(&status) {
        return Err(ActionError::Conflict(format!(
            "only a dead or done event can be replayed; this one is {status}"
        )));
    }
    events::reopen(c, id)?;
    crate::wake::notify(c, connection.0)?;
    Ok(connection)
}

fn queue(
    c: &mut PgConnection,
    connection: ConnectionId,
    id: InterviewId,
    kind: JobKind,
) -> Result<ConnectionId, ActionError> {
    jobs::add(c, connection, id, kind)?;
    crate::wake::notify(c, connection.0)?;
    Ok(connection)
}
