//! Roles: the list, create, edit the ATS tag list (Lever job titles and
//! posting ids; `console.js` turns the one-per-line textarea into a tag list
//! where Enter adds and × removes), fallback, delete, "which role would this
//! posting get?", and the unmapped postings from health with one click to add
//! one to a role.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::form::Fields;
use super::layout::{self, FormError, OrgCtx, csrf, field_error, notice, pager};
use super::session::{Post, User};
use super::{ConsoleError, html, html_status, org_ctx, see_other};
use crate::service::list::ListQuery;
use crate::service::roles::{self, CreateRole, PatchRole, ResolveQuery, RoleView};
use crate::service::{ServiceError, health};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/roles", web::get().to(list_page))
        .route("/orgs/{org}/roles", web::post().to(create))
        .route("/orgs/{org}/roles/add-job", web::post().to(add_job))
        .route("/orgs/{org}/roles/{role}", web::get().to(edit_page))
        .route("/orgs/{org}/roles/{role}", web::post().to(update))
        .route("/orgs/{org}/roles/{role}/delete", web::post().to(delete));
}

#[derive(Debug, Deserialize, Default)]
pub struct RolesQuery {
    cursor: Option<String>,
    posting_id: Option<String>,
    title: Option<String>,
    done: Option<String>,
}

/// The entries of a tag-list field: one per line (the textarea), or one per
/// repeated field; blank lines dropped, the API checks the rest.
fn entries(f: &Fields, name: &str) -> Vec<String> {
    f.all(name)
        .into_iter()
        .flat_map(|v| v.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn tag_list(id: &str, label: &str, values: &[String], err: Option<&str>) -> Markup {
    html! {
        label for=(id) { (label) }
        p.hint id={ (id) "-hint" } { "One Lever job title or posting id per line. With JavaScript: type one and press Enter to add it, × removes it." }
        textarea id=(id) name="ats_jobs" rows="4" data-tag-list="true"
            aria-describedby={ (id) "-hint" } { (values.join("\n")) }
        (field_error("ats_jobs", err))
    }
}

fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Role created.",
        "updated" => "Role updated.",
        "deleted" => "Role deleted. Interviews keep its name as it was.",
        "added" => "Added to the role: new postings like it now get that role.",
        _ => return None,
    })
}

async fn list_page(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<RolesQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let note = query.done.as_deref().and_then(done_text);
    Ok(html(
        list_view(&state, &user, &org, &query, note, None, None).await?,
    ))
}

async fn list_view(
    state: &AppState,
    user: &User,
    org: &OrgCtx,
    query: &RolesQuery,
    note: Option<&str>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Result<Markup, ConsoleError> {
    let page = ListQuery::after(query.cursor.clone());
    let list = roles::list(state, &user.caller, org.id, &page).await?;
    let posting = query.posting_id.clone().unwrap_or_default();
    let title = query.title.clone().unwrap_or_default();
    let resolved = if posting.trim().is_empty() && title.trim().is_empty() {
        None
    } else {
        let q = ResolveQuery {
            posting_id: Some(posting.clone()).filter(|p| !p.trim().is_empty()),
            title: Some(title.clone()).filter(|t| !t.trim().is_empty()),
        };
        Some(roles::resolve_posting(state, &user.caller, org.id, &q).await?)
    };
    let unmapped = health::report(state, &user.caller, org.id)
        .await?
        .unmapped_postings;
    let write = user.can_write(org.id);
    let base = org.base();
    let typed_name = typed.map(|f| f.get("name").to_owned()).unwrap_or_default();
    let typed_jobs = typed.map(|f| entries(f, "ats_jobs")).unwrap_or_default();
    let typed_fallback = typed.is_some_and(|f| f.has("fallback"));
    let body = html! {
        (notice(note))
        @if list.items.is_empty() {
            p { "No roles yet. Create one and list the Lever job titles or posting ids it covers." }
        } @else {
            ul.roles {
                @for r in &list.items { (role_item(&base, r)) }
            }
        }
        (pager(&format!("{base}/roles"), &[], query.cursor.is_none(), list.next_cursor.as_deref()))
        @if write {
            section.card aria-labelledby="new-role-h" {
                h2 #new-role-h { "Create a role" }
                (field_error("create", FormError::general(err, "create").as_deref()))
                form method="post" action={ (base) "/roles" } {
                    (csrf(user))
                    label for="new-name" { "Role name" }
                    input #new-name type="text" name="name" required value=(typed_name);
                    (field_error("name", FormError::on(err, "create", "name").as_deref()))
                    (tag_list("new-jobs", "ATS settings: Lever job titles and posting ids", &typed_jobs,
                        FormError::on(err, "create", "ats_jobs").as_deref()))
                    label.check { input type="checkbox" name="fallback" value="true" checked[typed_fallback];
                        " Fallback: use this role for postings no other role maps" }
                    button type="submit" { "Create role" }
                }
            }
        }
        section.card aria-labelledby="resolve-h" {
            h2 #resolve-h { "Which role would this posting get?" }
            form method="get" action={ (base) "/roles" } {
                label for="posting_id" { "Lever posting id" }
                input #posting_id type="text" name="posting_id" value=(posting);
                label for="title" { "Posting title" }
                input #title type="text" name="title" value=(title);
                button type="submit" { "Check" }
            }
            @if let Some(r) = &resolved {
                p.notice role="status" #resolved {
                    @match &r.role_name {
                        Some(n) => { "It would get role " strong { (n) } " (rule: " (serde_json::to_value(r.rule).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) ")." }
                        None => { "No role: the org has no role that maps it and no fallback." }
                    }
                }
            }
        }
        @if !unmapped.is_empty() {
            section.card aria-labelledby="unmapped-h" {
                h2 #unmapped-h { "Unmapped postings" }
                p { "Postings of the last 30 days that got a role only by fallback. Add one to a role:" }
                (field_error("unmapped", FormError::general(err, "unmapped").as_deref()))
                ul.unmapped {
                    @for u in &unmapped {
                        li {
                            strong { (u.title.as_deref().unwrap_or("(no title)")) } " "
                            small { (u.posting_id) " · " (u.rule) }
                            @if write && !list.items.is_empty() {
                                form.inline method="post" action={ (base) "/roles/add-job" } {
                                    (csrf(user))
                                    input type="hidden" name="entry" value=(u.posting_id);
                                    label.sr for={ "to-" (u.posting_id) } { "Role for " (u.posting_id) }
                                    select id={ "to-" (u.posting_id) } name="role" {
                                        @for r in &list.items { option value=(r.id) { (r.name) } }
                                    }
                                    button type="submit" { "Add to role" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(user, Some(org), "roles", "Roles", body))
}

fn role_item(base: &str, r: &RoleView) -> Markup {
    html! {
        li.role {
            a.role-name href={ (base) "/roles/" (r.id) } { (r.name) }
            @if r.fallback { " " span.badge { "fallback" } }
            ul.tags aria-label="ATS settings" {
                @for j in &r.ats_jobs { li.tag { (j) } }
            }
        }
    }
}

async fn create(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let f = &post.fields;
    let body = CreateRole {
        name: f.get("name").to_owned(),
        ats_jobs: entries(f, "ats_jobs"),
        fallback: f.has("fallback"),
        link_ttl_days: None,
    };
    match roles::create(&state, &post.user.caller, org.id, &body).await {
        Ok(_) => Ok(see_other(&format!("{}/roles?done=created", org.base()))),
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("create", &e, &["name", "ats_jobs"]);
            let q = RolesQuery::default();
            let body = list_view(&state, &post.user, &org, &q, None, Some(&err), Some(f)).await?;
            Ok(html_status(status, body))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_page(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<RolesQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, role) = path.into_inner();
    let org = org_ctx(&state, &user, org).await?;
    let r = roles::get(&state, &user.caller, org.id, role).await?;
    let note = query.done.as_deref().and_then(done_text);
    Ok(html(edit_view(&user, &org, &r, note, None, None)))
}

fn edit_view(
    user: &User,
    org: &OrgCtx,
    r: &RoleView,
    note: Option<&str>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Markup {
    let base = org.base();
    let write = user.can_write(org.id);
    let name = typed
        .map(|f| f.get("name").to_owned())
        .unwrap_or_else(|| r.name.clone());
    let jobs = typed
        .map(|f| entries(f, "ats_jobs"))
        .unwrap_or_else(|| r.ats_jobs.clone());
    let fallback = typed.map(|f| f.has("fallback")).unwrap_or(r.fallback);
    let body = html! {
        (notice(note))
        @if write {
            section.card {
                (field_error("update", FormError::general(err, "update").as_deref()))
                form method="post" action={ (base) "/roles/" (r.id) } {
                    (csrf(user))
                    label for="role-name" { "Role name" }
                    input #role-name type="text" name="name" required value=(name);
                    (field_error("name", FormError::on(err, "update", "name").as_deref()))
                    (tag_list("role-jobs", "ATS settings: Lever job titles and posting ids", &jobs,
                        FormError::on(err, "update", "ats_jobs").as_deref()))
                    label.check { input type="checkbox" name="fallback" value="true" checked[fallback];
                        " Fallback: use this role for postings no other role maps" }
                    button type="submit" { "Update role" }
                }
            }
            section.card.danger {
                form method="post" action={ (base) "/roles/" (r.id) "/delete" } {
                    (csrf(user))
                    button.danger type="submit" { "Delete role" }
                }
            }
        } @else {
            dl.facts {
                dt { "Name" } dd { (r.name) }
                dt { "Fallback" } dd { @if r.fallback { "yes" } @else { "no" } }
            }
            ul.tags aria-label="ATS settings" { @for j in &r.ats_jobs { li.tag { (j) } } }
        }
        p { a href={ (base) "/roles" } { "← All roles" } }
    };
    layout::page(user, Some(org), "roles", &format!("Role: {}", r.name), body)
}

async fn update(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, role) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    let f = &post.fields;
    let patch = PatchRole {
        name: Some(f.get("name").to_owned()),
        ats_jobs: Some(entries(f, "ats_jobs")),
        fallback: Some(f.has("fallback")),
        // Not on the form: a role's own link time to live is set over the API.
        link_ttl_days: None,
    };
    match roles::update(&state, &post.user.caller, org.id, role, &patch).await {
        Ok(_) => Ok(see_other(&format!(
            "{}/roles/{role}?done=updated",
            org.base()
        ))),
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let current = roles::get(&state, &post.user.caller, org.id, role).await?;
            let err = FormError::from_service("update", &e, &["name", "ats_jobs"]);
            Ok(html_status(
                status,
                edit_view(&post.user, &org, &current, None, Some(&err), Some(f)),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, role) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    roles::delete(&state, &post.user.caller, org.id, role).await?;
    Ok(see_other(&format!("{}/roles?done=deleted", org.base())))
}

async fn add_job(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let role: Uuid = post
        .fields
        .get("role")
        .parse()
        .map_err(|_| ServiceError::not_found("role"))?;
    let current = roles::get(&state, &post.user.caller, org.id, role).await?;
    let mut jobs = current.ats_jobs;
    jobs.push(post.fields.get("entry").to_owned());
    let patch = PatchRole {
        name: None,
        ats_jobs: Some(jobs),
        fallback: None,
        link_ttl_days: None,
    };
    match roles::update(&state, &post.user.caller, org.id, role, &patch).await {
        Ok(_) => Ok(see_other(&format!("{}/roles?done=added", org.base()))),
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("unmapped", &e, &[]);
            let q = RolesQuery::default();
            let body = list_view(&state, &post.user, &org, &q, None, Some(&err), None).await?;
            Ok(html_status(status, body))
        }
        Err(e) => Err(e.into()),
    }
}
