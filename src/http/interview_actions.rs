//! What the interview platform and admins do to an interview and an event:
//! `POST .../interviews/{id}/complete`, `POST .../interviews/{id}/cancel` and
//! `POST .../events/{id}/replay`. Each commits its change and a job, answers
//! 202, and wakes the account's supervisor; the Lever writes follow.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, KeyRole};
use super::error::{ApiError, ErrorBody};
use super::validate;
use crate::app::AppState;
use crate::db::schema::{interviews, jobs, lever_events};
use crate::domain::ids::{ConnectionId, OrgId};
use crate::http::json::Json;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(complete).service(cancel).service(replay);
}

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
    fn into_result(self) -> Result<serde_json::Value, ApiError> {
        if let Some(s) = self.score
            && !(0.0..=100.0).contains(&s)
        {
            return Err(ApiError::Validation("`score` must be from 0 to 100".into()));
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

/// The interview's status and connection, checked to belong to `org`.
fn find(
    c: &mut PgConnection,
    org: Uuid,
    id: Uuid,
) -> Result<(String, Uuid, Option<serde_json::Value>, bool), ApiError> {
    interviews::table
        .filter(interviews::id.eq(id))
        .filter(interviews::org_id.eq(org))
        .select((
            interviews::status,
            interviews::connection_id,
            interviews::result,
            interviews::completed_at.is_not_null(),
        ))
        .first(c)
        .optional()?
        .ok_or_else(|| ApiError::not_found("interview"))
}

fn add_job(
    c: &mut PgConnection,
    connection: Uuid,
    interview: Uuid,
    kind: &str,
) -> QueryResult<usize> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::id.eq(Uuid::new_v4()),
            jobs::connection_id.eq(connection),
            jobs::interview_id.eq(interview),
            jobs::kind.eq(kind),
            jobs::status.eq("pending"),
        ))
        .execute(c)
}

/// Record the interview's result (the interview platform).
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)), request_body = Completion,
    responses((status = 202), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/interviews/{id}/complete")]
pub async fn complete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<Completion>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    caller.require_org(OrgId(org), KeyRole::Admin)?;
    let result = body.into_inner().into_result()?;
    let conn_id = state
        .db
        .transaction(move |c| -> Result<Option<Uuid>, ApiError> {
            let (status, conn_id, stored, completed) = find(c, org, id)?;
            if completed {
                return match stored == Some(result) {
                    true => Ok(None),
                    false => Err(ApiError::Conflict(
                        "this interview already has a different result; the first one stands"
                            .into(),
                    )),
                };
            }
            if !matches!(status.as_str(), "creating" | "link_posted") {
                return Err(ApiError::Conflict(format!("the interview is {status}")));
            }
            diesel::update(interviews::table.find(id))
                .set((
                    interviews::result.eq(&result),
                    interviews::completed_at.eq(Utc::now()),
                    // Before its link is posted it stays `creating`; the link
                    // step shows it completed once it lands.
                    interviews::status.eq(if status == "link_posted" {
                        "completed"
                    } else {
                        "creating"
                    }),
                    interviews::updated_at.eq(Utc::now()),
                ))
                .execute(c)?;
            add_job(c, conn_id, id, crate::pipeline::results::JOB_COMPLETE)?;
            crate::wake::notify(c, conn_id)?;
            Ok(Some(conn_id))
        })
        .await?;
    if let Some(conn_id) = conn_id {
        state.wake.wake(ConnectionId(conn_id));
    }
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Cancel an open interview: its link and tag leave Lever, `/live` answers 410.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/interviews/{id}/cancel")]
pub async fn cancel(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    cancel_for(&state, &caller, OrgId(org), id).await?;
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Cancels an open interview of `org`. Shared with the console.
pub async fn cancel_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<(), ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let org = org.0;
    let conn_id = state
        .db
        .transaction(move |c| -> Result<Uuid, ApiError> {
            let (status, conn_id, _, completed) = find(c, org, id)?;
            if completed || !matches!(status.as_str(), "creating" | "link_posted") {
                return Err(ApiError::Conflict(format!(
                    "only an open interview can be cancelled; this one is {}",
                    if completed { "completed" } else { &status }
                )));
            }
            diesel::update(interviews::table.find(id))
                .set((
                    interviews::status.eq("cancelled"),
                    interviews::cancelled_at.eq(Utc::now()),
                    interviews::updated_at.eq(Utc::now()),
                ))
                .execute(c)?;
            add_job(c, conn_id, id, crate::pipeline::results::JOB_CANCEL)?;
            crate::wake::notify(c, conn_id)?;
            Ok(conn_id)
        })
        .await?;
    state.wake.wake(ConnectionId(conn_id));
    Ok(())
}

/// Run a `dead` or `done` event again. It never makes a second interview for
/// the same stage entry: it re-ensures what that interview's status calls for.
#[utoipa::path(
    params(("org" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/events/{id}/replay")]
pub async fn replay(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = path.into_inner();
    replay_for(&state, &caller, OrgId(org), id).await?;
    Ok(HttpResponse::Accepted().json(json!({"status": "accepted"})))
}

/// Replays a dead or done event of `org`. Shared with the console.
pub async fn replay_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    id: Uuid,
) -> Result<(), ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let org = org.0;
    let conn_id = state
        .db
        .transaction(move |c| -> Result<Uuid, ApiError> {
            let (status, conn_id): (String, Uuid) = lever_events::table
                .filter(lever_events::id.eq(id))
                .filter(lever_events::org_id.eq(org))
                .select((lever_events::status, lever_events::connection_id))
                .first(c)
                .optional()?
                .ok_or_else(|| ApiError::not_found("event"))?;
            if !matches!(status.as_str(), "dead" | "done") {
                return Err(ApiError::Conflict(format!(
                    "only a dead or done event can be replayed; this one is {status}"
                )));
            }
            diesel::update(lever_events::table.find(id))
                .set((
                    lever_events::status.eq("pending"),
                    lever_events::attempts.eq(0),
                    lever_events::last_error.eq(None::<String>),
                    lever_events::next_attempt_at.eq(Utc::now()),
                    lever_events::updated_at.eq(Utc::now()),
                ))
                .execute(c)?;
            crate::wake::notify(c, conn_id)?;
            Ok(conn_id)
        })
        .await?;
    state.wake.wake(ConnectionId(conn_id));
    Ok(())
}
