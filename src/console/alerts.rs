//! Alerts (admins; docs/contract/alerts.md): the org's destinations with
//! their last answer, add one (a webhook's secret shown once, on the page
//! that answers the form), send a test, see the last sends, remove one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::form::Fields;
use super::layout::{self, FormError, OrgCtx, csrf, field_error, notice, when};
use super::session::{Post, User};
use super::{ConsoleError, html, html_status, org_ctx, see_other};
use crate::service::alerts::{self, CreatedAlert, NewAlert, Scope};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/alerts", web::get().to(page))
        .route("/orgs/{org}/alerts", web::post().to(create))
        .route("/orgs/{org}/alerts/{id}/test", web::post().to(test))
        .route("/orgs/{org}/alerts/{id}/delete", web::post().to(delete))
        .route("/orgs/{org}/alerts/{id}", web::get().to(sends));
}

#[derive(Debug, Deserialize, Default)]
pub struct AlertsQuery {
    done: Option<String>,
}

async fn page(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let note = match query.done.as_deref() {
        Some("deleted") => Some("Destination removed."),
        Some("tested") => Some("Test notification sent: see its last sends."),
        _ => None,
    };
    Ok(html(
        view(&state, &user, &org, note, None, None, None).await?,
    ))
}

async fn view(
    state: &AppState,
    user: &User,
    org: &OrgCtx,
    note: Option<&str>,
    created: Option<&CreatedAlert>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Result<Markup, ConsoleError> {
    let list = alerts::list(state, &user.caller, Scope::Org(org.id)).await?;
    let base = org.base();
    let typed_url = typed.map(|f| f.get("url").to_owned()).unwrap_or_default();
    let typed_kind = typed.map(|f| f.get("kind").to_owned()).unwrap_or_default();
    let body = html! {
        (notice(note))
        @if let Some(a) = created {
            @if let Some(secret) = &a.secret {
                section.card.shown-once role="status" {
                    h2 { "Signing secret" }
                    p { "Copy it now: it is shown only this once. Receivers check each notification's "
                        code { "webhook-signature" } " with it (Standard Webhooks)." }
                    p { code #new-secret { (secret) } }
                }
            }
        }
        @if list.items.is_empty() { p { "No destinations: nobody is told when a problem opens." } } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Where" } th { "Kind" } th { "Notifications" } th { "Last answer" } th { span.sr { "Actions" } } } }
                    tbody {
                        @for a in &list.items {
                            tr.alert {
                                td { a href={ (base) "/alerts/" (a.id) } { (host(&a.url)) } }
                                td { (a.kind) }
                                td { small { (a.events.join(", ")) } }
                                td {
                                    @match a.last_status { Some(s) => { "HTTP " (s) } None => { "—" } }
                                    @if let Some(t) = a.failing_since { br; span.error-text { "failing since " (when(Some(t))) } }
                                }
                                td {
                                    form.inline method="post" action={ (base) "/alerts/" (a.id) "/test" } {
                                        (csrf(user))
                                        button type="submit" { "Send a test" }
                                    }
                                    " "
                                    form.inline method="post" action={ (base) "/alerts/" (a.id) "/delete" } {
                                        (csrf(user))
                                        button.danger type="submit" { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="new-alert-h" {
            h2 #new-alert-h { "Add a destination" }
            (field_error("create", FormError::general(err, "create").as_deref()))
            form method="post" action={ (base) "/alerts" } {
                (csrf(user))
                label for="alert-url" { "URL (https)" }
                input #alert-url type="url" name="url" value=(typed_url) required;
                (field_error("url", FormError::on(err, "create", "url").as_deref()))
                label for="alert-kind" { "Kind" }
                select #alert-kind name="kind" {
                    option value="webhook" selected[typed_kind != "slack"] { "webhook (signed JSON)" }
                    option value="slack" selected[typed_kind == "slack"] { "Slack incoming webhook" }
                }
                (field_error("kind", FormError::on(err, "create", "kind").as_deref()))
                button type="submit" { "Add destination" }
            }
        }
    };
    Ok(layout::page(user, Some(org), "alerts", "Alerts", body))
}

/// The host only: a Slack URL is itself a secret.
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn create(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let f = &post.fields;
    let new = NewAlert {
        url: f.get("url").to_owned(),
        kind: f.get("kind").to_owned(),
        events: None,
    };
    match alerts::create(&state, &post.user.caller, Scope::Org(org.id), &new).await {
        Ok(created) => {
            let body = view(&state, &post.user, &org, None, Some(&created), None, None).await?;
            Ok(html_status(StatusCode::CREATED, body))
        }
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("create", &e, &["url", "kind"]);
            let body = view(&state, &post.user, &org, None, None, Some(&err), Some(f)).await?;
            Ok(html_status(status, body))
        }
        Err(e) => Err(e.into()),
    }
}

async fn test(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    alerts::test(&state, &post.user.caller, Scope::Org(org.id), id).await?;
    Ok(see_other(&format!("{}/alerts/{id}", org.base())))
}

async fn delete(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    alerts::delete(&state, &post.user.caller, Scope::Org(org.id), id).await?;
    Ok(see_other(&format!("{}/alerts?done=deleted", org.base())))
}

/// One destination's last sends, newest first.
async fn sends(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let org = org_ctx(&state, &user, org).await?;
    let list = alerts::deliveries(&state, &user.caller, Scope::Org(org.id), id).await?;
    let body = html! {
        p { a href={ (org.base()) "/alerts" } { "Back to Alerts" } }
        @if list.items.is_empty() { p { "Nothing sent yet." } } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "When" } th { "Notification" } th { "Answer" } th { "webhook-id" } } }
                    tbody {
                        @for d in &list.items {
                            tr.send {
                                td { (when(Some(d.at))) }
                                td { (d.kind) }
                                td {
                                    @match d.status { Some(s) => { "HTTP " (s) } None => { "—" } }
                                    @if let Some(e) = &d.error { br; span.error-text { (e) } }
                                }
                                td { code { (d.webhook_id) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(layout::page(
        &user,
        Some(&org),
        "alerts",
        "Last sends",
        body,
    )))
}
