//! `GET /oauth/lever/callback`: Lever's OAuth redirect, completed by
//! `service::connection::authorise`. Answers a short page, or JSON for
//! `Accept: application/json`. An authorisation the console started goes
//! back to the console's Lever page instead, through a page (a meta refresh,
//! no script) rather than a redirect: the navigation then starts on our own
//! site, so the console's `SameSite=Strict` session cookie goes with it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use maud::html;

use crate::domain::ids::OrgId;
use crate::domain::status::ConnectionStatus;
use crate::http::error::ApiError;
use crate::http::page::{page, wants_json};
use crate::lever::AuthorizeCallback;
use crate::service::ServiceError;
use crate::service::connection::authorise::{self, Connected};
use crate::state::AppState;

#[get("/oauth/lever/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<AuthorizeCallback>,
) -> HttpResponse {
    let json = wants_json(&req);
    let returned = authorise::complete(&state, query.into_inner()).await;
    if let Some(org) = returned.from_console
        && !json
    {
        return back_to_console(org, &returned.outcome);
    }
    match returned.outcome {
        Ok(done) if json => HttpResponse::Ok().json(done),
        Ok(done) => page(
            StatusCode::OK,
            "Lever is connected",
            html! { p { (success_text(&done)) } },
        ),
        Err(e) => {
            let e = ApiError::from(e);
            if json {
                return e.error_response();
            }
            page(
                e.status_code(),
                "Lever was not connected",
                html! { p { (e.to_string()) } },
            )
        }
    }
}

fn success_text(done: &Connected) -> String {
    match done.connection_status {
        ConnectionStatus::Active => {
            "Arkiter Live is connected to your Lever account. You can close this page.".into()
        }
        _ => format!(
            "Arkiter Live is connected, but needs one more step: {}",
            done.problems[0]["message"]
                .as_str()
                .unwrap_or("see the connection page in Arkiter")
        ),
    }
}

/// The hop back to the console's Lever page, which shows the outcome (200
/// either way: this page is only a hop).
fn back_to_console(org: OrgId, outcome: &Result<Connected, ServiceError>) -> HttpResponse {
    let (to, title) = match outcome {
        Ok(_) => (
            format!("/console/orgs/{org}/lever?connected=1"),
            "Lever is connected",
        ),
        Err(e) => (
            format!("/console/orgs/{org}/lever?connect_error={}", e.code()),
            "Lever was not connected",
        ),
    };
    let refresh = format!("0;url={to}");
    let body = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(refresh);
                title { (title) }
            }
            body {
                p { (title) ". " a href=(to) { "Back to Arkiter" } }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}
