//! Alerts (docs/contract/alerts.md): an org's destinations (its admins,
//! under the org's tabs) or the operator's (the super-admin, under
//! `/console/operator/alerts`), with their last answer; add one (a
//! webhook's secret shown once, on the page that answers the form), send a
//! test, see the last sends, remove one.

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
        .route("/orgs/{org}/alerts/{id}", web::get().to(sends))
        .route("/operator/alerts", web::get().to(operator_page))
        .route("/operator/alerts", web::post().to(operator_create))
        .route("/operator/alerts/{id}/test", web::post().to(operator_test))
        .route(
            "/operator/alerts/{id}/delete",
            web::post().to(operator_delete),
        )
        .route("/operator/alerts/{id}", web::get().to(operator_sends));
}

/// Whose destinations a page shows, and where its links start.
struct Place {
    scope: Scope,
    /// `…/alerts` of the org, or of the operator.
    base: String,
    org: Option<OrgCtx>,
}

async fn org_place(state: &AppState, user: &User, org: Uuid) -> Result<Place, ConsoleError> {
    let org = org_ctx(state, user, org).await?;
    Ok(Place {
        scope: Scope::Org(org.id),
        base: format!("{}/alerts", org.base()),
        org: Some(org),
    })
}

fn operator_place(user: &User) -> Result<Place, ConsoleError> {
    user.caller.require_super()?;
    Ok(Place {
        scope: Scope::Operator,
        base: "/console/operator/alerts".to_owned(),
        org: None,
    })
}

fn frame(user: &User, place: &Place, title: &str, body: Markup) -> Markup {
    let active = if place.org.is_some() {
        "alerts"
    } else {
        "operator-alerts"
    };
    layout::page(user, place.org.as_ref(), active, title, body)
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
    let place = org_place(&state, &user, path.into_inner()).await?;
    show(&state, &user, &place, &query).await
}

async fn operator_page(
    user: User,
    state: web::Data<AppState>,
    query: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let place = operator_place(&user)?;
    show(&state, &user, &place, &query).await
}

async fn show(
    state: &AppState,
    user: &User,
    place: &Place,
    query: &AlertsQuery,
) -> Result<HttpResponse, ConsoleError> {
    let note = match query.done.as_deref() {
        Some("deleted") => Some("Destination removed."),
        _ => None,
    };
    Ok(html(
        view(state, user, place, note, None, None, None).await?,
    ))
}

async fn view(
    state: &AppState,
    user: &User,
    place: &Place,
    note: Option<&str>,
    created: Option<&CreatedAlert>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Result<Markup, ConsoleError> {
    let list = alerts::list(state, &user.caller, place.scope).await?;
    let base = &place.base;
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
                                td { a href={ (base) "/" (a.id) } { (host(&a.url)) } }
                                td { (a.kind) }
                                td { small { (a.events.join(", ")) } }
                                td {
                                    @match a.last_status { Some(s) => { "HTTP " (s) } None => { "—" } }
                                    @if let Some(t) = a.failing_since { br; span.error-text { "failing since " (when(Some(t))) } }
                                }
                                td {
                                    form.inline method="post" action={ (base) "/" (a.id) "/test" } {
                                        (csrf(user))
                                        button type="submit" { "Send a test" }
                                    }
                                    " "
                                    form.inline method="post" action={ (base) "/" (a.id) "/delete" } {
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
            form method="post" action=(base) {
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
    Ok(frame(user, place, "Alerts", body))
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
    let place = org_place(&state, &post.user, path.into_inner()).await?;
    add(&state, &post, &place).await
}

async fn operator_create(
    post: Post,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let place = operator_place(&post.user)?;
    add(&state, &post, &place).await
}

async fn add(state: &AppState, post: &Post, place: &Place) -> Result<HttpResponse, ConsoleError> {
    let f = &post.fields;
    let new = NewAlert {
        url: f.get("url").to_owned(),
        kind: f.get("kind").to_owned(),
        events: None,
    };
    match alerts::create(state, &post.user.caller, place.scope, &new).await {
        Ok(created) => {
            let body = view(state, &post.user, place, None, Some(&created), None, None).await?;
            Ok(html_status(StatusCode::CREATED, body))
        }
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("create", &e, &["url", "kind"]);
            let body = view(state, &post.user, place, None, None, Some(&err), Some(f)).await?;
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
    let place = org_place(&state, &post.user, org).await?;
    alerts::test(&state, &post.user.caller, place.scope, id).await?;
    Ok(see_other(&format!("{}/{id}", place.base)))
}

async fn operator_test(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let (place, id) = (operator_place(&post.user)?, path.into_inner());
    alerts::test(&state, &post.user.caller, place.scope, id).await?;
    Ok(see_other(&format!("{}/{id}", place.base)))
}

async fn delete(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let place = org_place(&state, &post.user, org).await?;
    alerts::delete(&state, &post.user.caller, place.scope, id).await?;
    Ok(see_other(&format!("{}?done=deleted", place.base)))
}

async fn operator_delete(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let (place, id) = (operator_place(&post.user)?, path.into_inner());
    alerts::delete(&state, &post.user.caller, place.scope, id).await?;
    Ok(see_other(&format!("{}?done=deleted", place.base)))
}

/// One destination's last sends, newest first.
async fn sends(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, id) = path.into_inner();
    let place = org_place(&state, &user, org).await?;
    list_sends(&state, &user, &place, id).await
}

async fn operator_sends(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let place = operator_place(&user)?;
    list_sends(&state, &user, &place, path.into_inner()).await
}

async fn list_sends(
    state: &AppState,
    user: &User,
    place: &Place,
    id: Uuid,
) -> Result<HttpResponse, ConsoleError> {
    let list = alerts::deliveries(state, &user.caller, place.scope, id).await?;
    let body = html! {
        p { a href=(place.base) { "Back to Alerts" } }
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
    Ok(html(frame(user, place, "Last sends", body)))
}
