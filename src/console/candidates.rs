//! One candidate: its story (the Candidate page, reached from interview and
//! event rows, or by pasting an opportunity id or a Lever candidate
//! address; docs/contract/timeline.md), and for admins, exporting
//! everything held about it as a JSON download, or erasing it after a
//! confirmation page (docs/contract/lifecycle.md).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::layout::{self, csrf, field_error, when};
use super::session::{Post, User};
use super::{ConsoleError, html, org_ctx, see_other};
use crate::domain::candidate_ref;
use crate::service::{candidates, timeline};
use crate::state::AppState;

#[derive(Debug, serde::Deserialize)]
pub struct Find {
    q: Option<String>,
}

/// The search box, shared by the find page and the Candidate page.
fn find_form(base: &str, value: &str, error: Option<&str>) -> maud::Markup {
    html! {
        form.find method="get" action={ (base) "/candidates" } {
            label for="q" { "Opportunity id or Lever candidate address" }
            input #q name="q" type="text" value=(value) required
                placeholder="https://hire.lever.co/candidates/…" aria-describedby="q-error";
            (field_error("q", error))
            button type="submit" { "Show the story" }
        }
    }
}

/// Finds a candidate from what was pasted: to its page, or the form again
/// with why not (and what was typed).
async fn find(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    params: web::Query<Find>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let typed = params.q.clone().unwrap_or_default();
    let error = match params.q.as_deref().map(candidate_ref::opportunity_id) {
        Some(Ok(opp)) => {
            return Ok(see_other(&format!(
                "{}/candidates/{}",
                org.base(),
                path_segment(&opp)
            )));
        }
        Some(Err(why)) => Some(why),
        None => None,
    };
    let body = find_form(&org.base(), &typed, error);
    Ok(html(layout::page(
        &user,
        Some(&org),
        "candidates",
        "Candidate",
        body,
    )))
}

/// The Candidate page: its interviews and its story, oldest first.
async fn story(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, opp) = path.into_inner();
    let org = org_ctx(&state, &user, org).await?;
    let found = timeline::story(&state, &user.caller, org.id, &opp, None).await?;
    let who = path_segment(&opp);
    let write = user.can_write(org.id);
    let body = html! {
        (find_form(&org.base(), "", None))
        h2 { "Candidate " code { (found.opportunity_id) } }
        @if write {
            p {
                a.export href={ (org.base()) "/candidates/" (who) "/export" } { "Export" }
                " · "
                a.erase href={ (org.base()) "/candidates/" (who) "/erase" } { "Erase…" }
            }
        }
        h3 { "Interviews" }
        @if found.interviews.is_empty() { p { "None." } } @else {
            ul {
                @for i in &found.interviews {
                    li { (when(Some(i.created_at))) " · " (i.role_name.as_deref().unwrap_or("no role")) " · "
                         span class={ "badge s-" (i.status) } { (i.status) } }
                }
            }
        }
        h3 { "Story" }
        div.table-wrap {
            table.story {
                thead { tr { th { "When" } th { "What" } th { "Detail" } } }
                tbody {
                    @for e in &found.timeline {
                        tr class={ "entry k-" (e.kind) } {
                            td { (when(Some(e.at))) }
                            td { span class={ "badge k-" (e.kind) } { (e.kind.replace('_', " ")) } }
                            td { (e.summary) }
                        }
                    }
                }
            }
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "candidates",
        "Candidate",
        body,
    )))
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/candidates", web::get().to(find))
        .route("/orgs/{org}/candidates/{opp}", web::get().to(story))
        .route("/orgs/{org}/candidates/{opp}/export", web::get().to(export))
        .route("/orgs/{org}/candidates/{opp}/erase", web::get().to(confirm))
        .route("/orgs/{org}/candidates/{opp}/erase", web::post().to(erase));
}

/// The export as a file to keep (a person's access request).
async fn export(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, opp) = path.into_inner();
    let org = org_ctx(&state, &user, org).await?;
    let doc = candidates::export(&state, &user.caller, org.id, &opp).await?;
    // The file name is the service's own: the id stays out of headers.
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"candidate-export.json\"",
        ))
        .json(doc))
}

/// What erasing means, and the one button that does it.
async fn confirm(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, opp) = path.into_inner();
    let org = org_ctx(&state, &user, org).await?;
    if !user.can_write(org.id) {
        return Err(crate::service::ServiceError::forbidden(
            "only an admin key can erase a candidate",
        )
        .into());
    }
    let action = format!("{}/candidates/{}/erase", org.base(), path_segment(&opp));
    let body = html! {
        p { "Erase everything Arkiter holds about candidate " code { (opp) } "?" }
        ul {
            li { "Their stored Lever deliveries, results and summaries are removed for good." }
            li { "Their interviews stay listed as " code { "erased" } ", without content; their links stop working." }
            li { "If Lever still has the candidate, their open interview link is taken off first." }
        }
        form method="post" action=(action) {
            (csrf(&user))
            button.danger type="submit" { "Erase this candidate" }
            " "
            a href={ (org.base()) "/interviews" } { "Back" }
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "interviews",
        "Erase a candidate",
        body,
    )))
}

async fn erase(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, opp) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    candidates::erase(&state, &post.user.caller, org.id, &opp).await?;
    Ok(see_other(&format!("{}/interviews?done=erased", org.base())))
}

/// Everything but RFC 3986's unreserved characters is escaped.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An opportunity id as one path segment.
pub fn path_segment(opp: &str) -> String {
    percent_encoding::utf8_percent_encode(opp, SEGMENT).to_string()
}
