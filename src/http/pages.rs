//! The two public pages behind the links the service hands out, and the
//! super-admin lookup the interview platform uses:
//!
//! - `GET /live/{live_token}`: the candidate's link. Names the org, the role
//!   and the status; 404 unknown; 410 once completed, results posted or
//!   cancelled (the link is swapped for the results link in Lever then).
//! - `GET /results/{results_token}`: the stored result; 404 unknown and also
//!   404 before completion, so a results token reveals nothing early.
//! - `GET /api/v1/live/{live_token}` (super-admin): what to run for a link.
//!
//! The pages answer HTML, or JSON when the request sends `Accept:
//! application/json`: `{"org_name","role_name","status"}` for a live link,
//! `{"org_name","role_name","score","recommendation","summary","completed_at"}`
//! for results, errors in the usual shape (410 is code `gone`). Every stored
//! text is escaped. Tokens sit in the URL, so pages are never cached nor sent
//! as a referrer. No candidate data is stored, so none can be shown; the live
//! page never shows the results token.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use maud::html;

use super::auth::SuperAdmin;
use super::error::{ApiError, ErrorBody};
use super::page::{page, respond, score_text, text_or_dash, wants_json};
use crate::db::models::interview::{Interview, InterviewStatus, InterviewWithOrg};
use crate::state::AppState;

/// Longer than any token the service hands out: not worth a database probe.
const MAX_TOKEN_LEN: usize = 256;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(live_page)
        .service(results_page)
        .service(live_lookup);
}

/// The interview behind a live link, for the interview platform.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveLookup {
    pub interview_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
    pub status: crate::domain::status::InterviewStatus,
    pub opportunity_id: String,
    pub created_at: DateTime<Utc>,
}

/// Look up the interview behind a live link (the interview platform).
#[utoipa::path(
    params(("live_token" = String, Path)),
    responses((status = 200, body = LiveLookup), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/live/{live_token}")]
pub async fn live_lookup(
    _super: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<LiveLookup>, ApiError> {
    let found = find(&state, path.into_inner(), Interview::find_by_live_token).await?;
    let InterviewWithOrg {
        interview: i,
        org_name,
    } = found.ok_or_else(|| ApiError::not_found("interview"))?;
    // The platform resolving the link is the candidate opening it.
    crate::service::interviews::opened(&state, i.id).await?;
    Ok(web::Json(LiveLookup {
        interview_id: i.id.0,
        org_id: i.org_id.0,
        org_name,
        role_id: i.role_id.map(|r| r.0),
        role_name: i.role_name,
        status: i.status,
        opportunity_id: i.opportunity_id,
        created_at: i.created_at,
    }))
}

#[get("/live/{live_token}")]
pub async fn live_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let json = wants_json(&req);
    finish(json, live(&state, path.into_inner(), json).await)
}

#[get("/results/{results_token}")]
pub async fn results_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let json = wants_json(&req);
    finish(json, results(&state, path.into_inner(), json).await)
}

async fn live(state: &AppState, token: String, json: bool) -> Result<HttpResponse, ApiError> {
    let InterviewWithOrg {
        interview: i,
        org_name,
    } = find(state, token, Interview::find_by_live_token)
        .await?
        // An erased candidate's link is as unknown as one never given.
        .filter(|f| f.interview.status != InterviewStatus::Erased)
        .ok_or_else(|| not_found("interview link"))?;
    if i.status.live_link_closed() {
        return Err(gone(i.status));
    }
    if json {
        let body = json!({"org_name": org_name, "role_name": i.role_name, "status": i.status});
        return Ok(HttpResponse::Ok().json(body));
    }
    let role = role_label(&i);
    let body = html! {
        p { (org_name) " invites you to a live technical interview for the role " b { (role) } "." }
        p { (live_words(i.status)) }
        p { "Status: " code { (i.status) } }
    };
    Ok(page(StatusCode::OK, &format!("{role} interview"), body))
}

async fn results(state: &AppState, token: String, json: bool) -> Result<HttpResponse, ApiError> {
    let found = find(state, token, Interview::find_by_results_token).await?;
    // Before completion the results link does not exist yet: same 404 as unknown.
    let InterviewWithOrg {
        interview: i,
        org_name,
    } = found
        .filter(|f| f.interview.status.has_result())
        .ok_or_else(|| not_found("results link"))?;
    let result = i.result.clone().unwrap_or(Value::Null);
    if json {
        return Ok(HttpResponse::Ok().json(json!({
            "org_name": org_name, "role_name": i.role_name, "score": result["score"],
            "recommendation": result["recommendation"], "summary": result["summary"],
            "completed_at": i.completed_at,
        })));
    }
    let role = role_label(&i);
    let completed = i.completed_at.map_or("—".into(), |t| t.to_rfc3339());
    let rows = [
        ("Organisation", org_name),
        ("Role", role.clone()),
        ("Score", score_text(&result["score"])),
        ("Recommendation", text_or_dash(&result["recommendation"])),
        ("Summary", text_or_dash(&result["summary"])),
        ("Completed", completed),
    ];
    let body = html! {
        table style="white-space:pre-wrap;text-align:left" {
            @for (k, v) in &rows {
                tr { th { (k) } td { (v) } }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        &format!("{role}: interview result"),
        body,
    ))
}

/// The page or its error, with the headers every page needs.
fn finish(json: bool, outcome: Result<HttpResponse, ApiError>) -> HttpResponse {
    respond(outcome.unwrap_or_else(|e| error_page(json, &e)))
}

/// Looks a token up, skipping the database for tokens no one was ever given.
async fn find(
    state: &AppState,
    token: String,
    lookup: fn(&mut diesel::PgConnection, &str) -> diesel::QueryResult<Option<InterviewWithOrg>>,
) -> Result<Option<InterviewWithOrg>, ApiError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(None);
    }
    Ok(state.db.run(move |c| Ok(lookup(c, &token)?)).await?)
}

fn not_found(what: &str) -> ApiError {
    ApiError::NotFound(format!(
        "this {what} is not valid; check the link you were sent"
    ))
}

fn gone(status: InterviewStatus) -> ApiError {
    let why = match status {
        InterviewStatus::Cancelled => "was cancelled",
        _ => "is over",
    };
    ApiError::Other {
        status: StatusCode::GONE,
        code: "gone",
        message: format!("this interview {why}; the link no longer leads to it"),
    }
}

/// What the candidate should know about the interview's state.
fn live_words(status: InterviewStatus) -> &'static str {
    match status {
        InterviewStatus::Creating => {
            "Your interview is being prepared. Refresh this page in a moment."
        }
        InterviewStatus::Failed => {
            "This interview could not be set up. Please contact the recruiter."
        }
        InterviewStatus::LinkPosted
        | InterviewStatus::Completed
        | InterviewStatus::ResultsPosted
        | InterviewStatus::Cancelled => "Your interview is ready.",
        // Never shown: an erased interview's link answers 404.
        InterviewStatus::Erased => "",
    }
}

fn role_label(i: &Interview) -> String {
    i.role_name.clone().unwrap_or_else(|| "Interview".into())
}

fn error_page(json: bool, e: &ApiError) -> HttpResponse {
    if json {
        return e.error_response();
    }
    let title = match e.status_code() {
        StatusCode::NOT_FOUND => "Link not found",
        StatusCode::GONE => "This interview is no longer available",
        _ => "Something went wrong",
    };
    let text = match e {
        // Internal details stay in the log, not on a public page.
        ApiError::Internal(cause) => {
            tracing::error!(error = ?cause, "public page failed");
            "Please try again in a moment.".to_owned()
        }
        other => other.to_string(),
    };
    page(e.status_code(), title, html! { p { (text) } })
}
