//! Operator pages (super-admin): every org with its health status, worst
//! first, with its dead jobs and problems; create an org (its admin key shown
//! once); open any org's pages.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::form::Fields;
use super::health::status_word;
use super::layout::{self, FormError, csrf, field_error};
use super::session::{Post, User};
use super::{ConsoleError, html, html_status};
use crate::domain::ids::OrgId;
use crate::health::report::HealthStatus;
use crate::service::access::Caller;
use crate::service::health;
use crate::service::list::ListQuery;
use crate::service::orgs::{self, CreateOrg, CreatedOrg, OrgView};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs", web::get().to(page))
        .route("/orgs", web::post().to(create_org));
}

/// Orgs per page of the operator list.
const PER_PAGE: usize = 50;

#[derive(Debug, Deserialize, Default)]
pub struct OrgsQuery {
    page: Option<usize>,
}

/// How bad a status is: lower is worse.
pub fn severity(s: HealthStatus) -> u8 {
    match s {
        HealthStatus::NeedsReauth => 0,
        HealthStatus::Degraded => 1,
        HealthStatus::NeedsSetup => 2,
        HealthStatus::Disconnected => 3,
        HealthStatus::Pending => 4,
        HealthStatus::NotConnected => 5,
        HealthStatus::Healthy => 6,
    }
}

fn super_only(user: &User) -> Result<(), ConsoleError> {
    Ok(user.caller.require_super()?)
}

struct Row {
    org: OrgView,
    status: HealthStatus,
    dead: i64,
    problems: usize,
}

/// Every org with its health, worst first.
async fn rows(state: &AppState, caller: &Caller) -> Result<Vec<Row>, ConsoleError> {
    let mut orgs = Vec::new();
    let mut cursor = None;
    loop {
        let page = orgs::list(
            state,
            caller,
            &ListQuery {
                limit: Some(200),
                cursor,
            },
        )
        .await?;
        orgs.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut rows = Vec::with_capacity(orgs.len());
    for org in orgs {
        let r = health::report(state, caller, OrgId(org.id)).await?;
        rows.push(Row {
            org,
            status: r.status,
            dead: r.queue.dead,
            problems: r.problems.len(),
        });
    }
    rows.sort_by(|a, b| {
        severity(a.status)
            .cmp(&severity(b.status))
            .then(b.dead.cmp(&a.dead))
            .then(b.problems.cmp(&a.problems))
            .then(a.org.name.cmp(&b.org.name))
    });
    Ok(rows)
}

async fn page(
    user: User,
    state: web::Data<AppState>,
    query: web::Query<OrgsQuery>,
) -> Result<HttpResponse, ConsoleError> {
    super_only(&user)?;
    Ok(html(
        view(&state, &user, query.page.unwrap_or(0), None, None, None).await?,
    ))
}

async fn view(
    state: &AppState,
    user: &User,
    page_no: usize,
    created: Option<&CreatedOrg>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Result<Markup, ConsoleError> {
    let all = rows(state, &user.caller).await?;
    let total = all.len();
    let shown: Vec<&Row> = all.iter().skip(page_no * PER_PAGE).take(PER_PAGE).collect();
    let more = total > (page_no + 1) * PER_PAGE;
    let typed_name = typed.map(|f| f.get("name").to_owned()).unwrap_or_default();
    let body = html! {
        @if let Some(o) = created {
            section.card.shown-once role="status" {
                h2 { "Org " (o.name) " created" }
                p { "Its first admin key; copy it now, it is shown only this once:" }
                p { code #new-key { (o.admin_key) } }
                p { a href={ "/console/orgs/" (o.id) "/lever" } { "Open " (o.name) " →" } }
            }
        }
        p { (total) " orgs, worst first." }
        div.table-wrap {
            table #orgs {
                thead { tr { th { "Org" } th { "Health" } th { "Dead jobs" } th { "Problems" } } }
                tbody {
                    @for r in &shown {
                        tr.org {
                            td { a href={ "/console/orgs/" (r.org.id) "/lever" } { (r.org.name) } }
                            td { span class={ "badge s-" (status_word(r.status)) } { (status_word(r.status)) } }
                            td { (r.dead) }
                            td { (r.problems) }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if page_no > 0 { a href={ "/console/orgs?page=" (page_no - 1) } { "← Previous page" } }
            @if more { a href={ "/console/orgs?page=" (page_no + 1) } { "Next page →" } }
        }
        section.card aria-labelledby="new-org-h" {
            h2 #new-org-h { "Create an org" }
            (field_error("create", FormError::general(err, "create").as_deref()))
            form method="post" action="/console/orgs" {
                (csrf(user))
                label for="org-name" { "Name" }
                input #org-name type="text" name="name" required value=(typed_name);
                (field_error("name", FormError::on(err, "create", "name").as_deref()))
                button type="submit" { "Create org" }
            }
        }
    };
    Ok(layout::page(user, None, "orgs", "All orgs", body))
}

async fn create_org(post: Post, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    super_only(&post.user)?;
    let body = CreateOrg {
        name: post.fields.get("name").to_owned(),
    };
    match orgs::create(&state, &post.user.caller, &body).await {
        Ok(o) => {
            let body = view(&state, &post.user, 0, Some(&o), None, None).await?;
            Ok(html_status(StatusCode::CREATED, body))
        }
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("create", &e, &["name"]);
            let body = view(&state, &post.user, 0, None, Some(&err), Some(&post.fields)).await?;
            Ok(html_status(status, body))
        }
        Err(e) => Err(e.into()),
    }
}
