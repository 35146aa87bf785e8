//! One candidate from its row on the Interviews page (admins only): export
//! everything held about it as a JSON download, or erase it after a
//! confirmation page (docs/contract/lifecycle.md).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::layout::{self, csrf};
use super::session::{Post, User};
use super::{ConsoleError, html, org_ctx, see_other};
use crate::service::candidates;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/candidates/{opp}/export", web::get().to(export))
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
