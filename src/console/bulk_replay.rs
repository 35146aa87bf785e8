//! Replaying dead events in bulk from the Events page (admins): pick a
//! window of when they went dead (UTC; both ends optional), see how many
//! that is, then confirm (docs/contract/console.md). The same rules as
//! `POST /api/v1/orgs/{org}/events/replay`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, csrf, field_error};
use super::session::{Post, User};
use super::{ConsoleError, org_ctx, see_other};
use crate::service::ServiceError;
use crate::service::actions::{self, BULK_REPLAY_MAX, BulkReplay};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/events/bulk-replay", web::get().to(confirm))
        .route("/orgs/{org}/events/bulk-replay", web::post().to(replay));
}

#[derive(Debug, Deserialize, Default)]
pub struct Window {
    since: Option<String>,
    until: Option<String>,
}

/// A time as typed: RFC 3339, or a `datetime-local` value read as UTC.
fn parse(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| Some(n.and_utc()))
        .ok_or_else(|| {
            ServiceError::invalid(
                field,
                format!("`{field}` must be a date and time, such as 2026-12-07T09:30"),
            )
        })
}

fn body(w: &Window, dry_run: bool) -> Result<BulkReplay, ServiceError> {
    Ok(BulkReplay {
        status: "dead".to_owned(),
        since: parse("since", w.since.as_deref())?,
        until: parse("until", w.until.as_deref())?,
        dry_run,
    })
}

/// The window's form, and once chosen, how many dead events it holds and
/// the button that replays them.
async fn confirm(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    window: web::Query<Window>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let action = format!("{}/events/bulk-replay", org.base());
    let counted = match body(&window, true) {
        Ok(b) => actions::bulk_replay(&state, &user.caller, org.id, &b)
            .await
            .map(Some),
        Err(e) => Err(e),
    };
    let (count, error) = match counted {
        Ok(n) => (n, None),
        Err(e) if layout::is_form_error(&e) => (None, Some(e)),
        Err(e) => return Err(e.into()),
    };
    let field = |name: &str| {
        error
            .as_ref()
            .filter(|e| e.field() == Some(name))
            .map(|e| e.message().to_owned())
    };
    let since = window.since.clone().unwrap_or_default();
    let until = window.until.clone().unwrap_or_default();
    let page = html! {
        p { "Dead events run again as one replay each would. Times are UTC; leave one empty to leave that end open." }
        form.find method="get" action=(action) {
            label for="since" { "Went dead from" }
            input #since type="datetime-local" name="since" value=(since);
            (field_error("since", field("since").as_deref()))
            label for="until" { "until (not included)" }
            input #until type="datetime-local" name="until" value=(until);
            (field_error("until", field("until").as_deref()))
            button type="submit" { "Count them" }
        }
        @if let Some(n) = count {
            @if n == 0 { p.count { "No dead event in this window." } } @else {
                p.count { strong { (n) } " dead event" @if n != 1 { "s" } " in this window"
                    @if n >= BULK_REPLAY_MAX { " (the most one replay takes; replay again for the rest)" } "." }
                form method="post" action=(action) {
                    (csrf(&user))
                    input type="hidden" name="since" value=(since);
                    input type="hidden" name="until" value=(until);
                    button.danger type="submit" { "Replay " (n) " event" @if n != 1 { "s" } }
                    " "
                    a href={ (org.base()) "/events?status=dead" } { "Back" }
                }
            }
        }
    };
    let status = error.as_ref().map_or(actix_web::http::StatusCode::OK, |e| {
        super::status_of(e.kind())
    });
    Ok(super::html_status(
        status,
        layout::page(&user, Some(&org), "events", "Replay dead events", page),
    ))
}

async fn replay(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let window = Window {
        since: Some(post.fields.get("since").to_owned()),
        until: Some(post.fields.get("until").to_owned()),
    };
    let n = actions::bulk_replay(&state, &post.user.caller, org.id, &body(&window, false)?).await?;
    Ok(see_other(&format!(
        "{}/events?done=bulk&count={n}",
        org.base()
    )))
}
