//! What the interview platform and admins do to an interview and an event:
//! `POST .../interviews/{id}/complete`, `POST .../interviews/{id}/cancel` and
//! `POST .../events/{id}/replay`. Each runs its domain function
//! ([`crate::pipeline::actions`]) in one transaction, answers 202, and wakes
//! the account's supervisor; the Lever writes follow.

use actix_web::{HttpResponse, post, web};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, KeyRole};
use super::error::{ApiError, ErrorBody};
use super::validate;
use crate::app::AppState;
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId};
use crate::http::json::Json;
use crate::pipeline::actions::{self, ActionError};

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
    act(&state, move |c| {
        actions::complete(c, OrgId(org), InterviewId(id), result)
    })
    .await?;
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
    act(state, move |c| {
        actions::cancel(c, org, InterviewId(id)).map(Some)
    })
    .await
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
    act(state, move |c| {
        actions::replay(c, org, EventId(id)).map(Some)
    })
    .await
}

/// Runs an action in one transaction and wakes the account's supervisor
/// once it has committed (the NOTIFY reaches other instances at commit).
async fn act<F>(state: &AppState, action: F) -> Result<(), ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<Option<ConnectionId>, ActionError> + Send + 'static,
{
    let woken = state
        .db
        .transaction(move |c| action(c).map_err(ApiError::from))
        .await?;
    if let Some(id) = woken {
        state.wake.wake(id);
    }
    Ok(())
}
