//! Interviews (status filter, stage, outcome, live and results links, cancel, re-invite of
//! a closed one, and the candidate's export and erase: `super::candidates`)
//! and Events
//! (status filter, reason, last error, replay; the bulk replay is
//! `super::bulk_replay`), newest first, paginated.

use actix_web::{HttpResponse, web};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, csrf, field_error, notice, pager, when};
use super::session::{Post, User};
use super::{ConsoleError, html, org_ctx, see_other};
use crate::domain::ids::{EventId, InterviewId};
use crate::domain::status::{EventStatus, InterviewStatus};
use crate::service::events::{self, EventsQuery};
use crate::service::interviews::{self, InterviewsQuery};
use crate::service::{Kind, ServiceError, actions};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/interviews", web::get().to(interviews))
        .route("/orgs/{org}/interviews/{id}/cancel", web::post().to(cancel))
        .route(
            "/orgs/{org}/interviews/{id}/reinvite",
            web::post().to(reinvite),
        )
        .route("/orgs/{org}/events", web::get().to(events))
        .route("/orgs/{org}/events/{id}/replay", web::post().to(replay));
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    status: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
    /// How many a bulk replay took.
    count: Option<i64>,
}

fn status_filter<S: Copy + std::fmt::Display>(
    base: &str,
    statuses: &[S],
    current: &str,
    err: Option<&str>,
) -> maud::Markup {
    html! {
        form.filter method="get" action=(base) {
            label for="status" { "Status" }
            select #status name="status" {
                option value="" selected[current.is_empty()] { "any" }
                @for s in statuses {
                    @let s = s.to_string();
                    option value=(s) selected[current == s] { (s) }
                }
            }
            button type="submit" { "Filter" }
            (field_error("status", err))
        }
    }
}

/// A list for the page, or the words of a bad filter (shown next to the
/// filter); any other error is the page's.
fn filtered<T>(
    listed: Result<T, ServiceError>,
) -> Result<(Option<T>, Option<String>), ConsoleError> {
    match listed {
        Ok(l) => Ok((Some(l), None)),
        Err(e) if matches!(e.kind(), Kind::BadRequest | Kind::Invalid) => {
            Ok((None, Some(e.message().to_owned())))
        }
        Err(e) => Err(e.into()),
    }
}

async fn interviews(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let status = params.status.clone().unwrap_or_default();
    let q = InterviewsQuery {
        status: Some(status.clone()),
        opportunity_id: None,
        limit: None,
        cursor: params.cursor.clone(),
    };
    let (list, err) = filtered(interviews::list(&state, &user.caller, org.id, &q).await)?;
    let write = user.can_write(org.id);
    let base = format!("{}/interviews", org.base());
    let note = match params.done.as_deref() {
        Some("cancelled") => Some("Cancelled: its link and tag leave Lever shortly."),
        Some("reinvited") => Some("Re-invited: a new interview and link go to Lever shortly."),
        Some("erased") => Some("Erasing: the candidate's data is removed shortly."),
        _ => None,
    };
    let body = html! {
        (notice(note))
        (status_filter(&base, InterviewStatus::ALL, &status, err.as_deref()))
        @if let Some(list) = &list {
            @if list.items.is_empty() { p { "No interviews." } } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Created" } th { "Role" } th { "Opportunity" } th { "Stage" } th { "Status" } th { "Outcome" } th { "Links" } @if write { th { span.sr { "Actions" } } } } }
                        tbody {
                            @for i in &list.items {
                                tr.interview {
                                    td { (when(Some(i.created_at))) }
                                    td { (i.role_name.as_deref().unwrap_or("—")) " " small { "(" (i.rule) ")" } }
                                    td {
                                        @if i.status == InterviewStatus::Erased { code { (i.opportunity_id) } } @else {
                                            a.candidate href={ (org.base()) "/candidates/" (super::candidates::path_segment(&i.opportunity_id)) } { code { (i.opportunity_id) } }
                                        }
                                    }
                                    td { small { (i.stage_id.as_deref().unwrap_or("—")) } }
                                    td {
                                        span class={ "badge s-" (i.status) } { (i.status) }
                                        @if let Some(r) = i.close_reason { " " small.close-reason { "closed: " (r) } }
                                    }
                                    td.outcome {
                                        @match i.outcome {
                                            Some(o) => { span class={ "badge o-" (o) } { (o.as_str().replace('_', " ")) } }
                                            None => { "—" }
                                        }
                                    }
                                    td {
                                        // The live link works only while the interview is open.
                                        @let live = i.live_url.as_ref().filter(|_| i.status.is_open() && i.completed_at.is_none());
                                        @if let Some(l) = live { a.live-link href=(l) { "Live link" } }
                                        @if let Some(r) = &i.results_url { @if live.is_some() { " · " } a.results-link href=(r) { "Results" } }
                                    }
                                    @if write {
                                        td {
                                            @if i.status.is_open() && i.completed_at.is_none() {
                                                form.inline method="post" action={ (base) "/" (i.id) "/cancel" } {
                                                    (csrf(&user))
                                                    button.danger type="submit" { "Cancel" }
                                                }
                                            }
                                            @if i.status == InterviewStatus::Cancelled {
                                                form.inline method="post" action={ (base) "/" (i.id) "/reinvite" } {
                                                    (csrf(&user))
                                                    button type="submit" { "Re-invite" }
                                                }
                                            }
                                            @if i.status != InterviewStatus::Erased {
                                                @let who = super::candidates::path_segment(&i.opportunity_id);
                                                " "
                                                a.export href={ (org.base()) "/candidates/" (who) "/export" } { "Export" }
                                                " · "
                                                a.erase href={ (org.base()) "/candidates/" (who) "/erase" } { "Erase…" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(&base, &[("status", status.as_str())], params.cursor.is_none(), list.next_cursor.as_deref()))
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "interviews",
        "Interviews",
        body,
    )))
}

async fn events(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let status = params.status.clone().unwrap_or_default();
    let q = EventsQuery {
        status: Some(status.clone()),
        cursor: params.cursor.clone(),
        ..EventsQuery::default()
    };
    let (list, err) = filtered(events::list(&state, &user.caller, org.id, &q).await)?;
    let write = user.can_write(org.id);
    let base = format!("{}/events", org.base());
    let bulk = format!(
        "Replaying {} dead event{}: they run again shortly.",
        params.count.unwrap_or(0),
        if params.count == Some(1) { "" } else { "s" }
    );
    let note = match params.done.as_deref() {
        Some("replayed") => Some("Replaying: the event runs again shortly."),
        Some("bulk") => Some(bulk.as_str()),
        _ => None,
    };
    let body = html! {
        (notice(note))
        (status_filter(&base, EventStatus::ALL, &status, err.as_deref()))
        @if write { p { a.bulk-replay href={ (base) "/bulk-replay" } { "Replay dead events in bulk…" } } }
        @if let Some(list) = &list {
            @if list.items.is_empty() { p { "No events." } } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Received" } th { "Event" } th { "Opportunity" } th { "Status" } th { "Reason / last error" } @if write { th { span.sr { "Actions" } } } } }
                        tbody {
                            @for e in &list.items {
                                tr.event {
                                    td { (when(Some(e.received_at))) br; small { (e.source) } }
                                    td { (e.event) }
                                    td {
                                        @match e.opportunity_id.as_deref().filter(|o| !o.starts_with(crate::domain::secrets::ERASED_PREFIX)) {
                                            Some(o) => { a.candidate href={ (org.base()) "/candidates/" (super::candidates::path_segment(o)) } { code { (o) } } }
                                            None => { code { (e.opportunity_id.as_deref().unwrap_or("—")) } }
                                        }
                                    }
                                    td { span class={ "badge s-" (e.status) } { (e.status) } " " small { (e.attempts) " attempts" } }
                                    td {
                                        @if let Some(r) = &e.reason { (r) }
                                        @if let Some(le) = &e.last_error { br; span.error-text { (le) } }
                                    }
                                    @if write {
                                        td {
                                            @if EventStatus::FINISHED.contains(&e.status) {
                                                form.inline method="post" action={ (base) "/" (e.id) "/replay" } {
                                                    (csrf(&user))
                                                    button type="submit" { "Replay" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(&base, &[("status", status.as_str())], params.cursor.is_none(), list.next_cursor.as_deref()))
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "events",
        "Events",
        body,
    )))
}

async fn cancel(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    actions::cancel(&state, &post.user.caller, org.id, InterviewId(id)).await?;
    Ok(see_other(&format!(
        "{}/interviews?done=cancelled",
        org.base()
    )))
}

async fn reinvite(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    actions::reinvite(&state, &post.user.caller, org.id, InterviewId(id)).await?;
    Ok(see_other(&format!(
        "{}/interviews?done=reinvited",
        org.base()
    )))
}

async fn replay(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    actions::replay(&state, &post.user.caller, org.id, EventId(id)).await?;
    Ok(see_other(&format!("{}/events?done=replayed", org.base())))
}
