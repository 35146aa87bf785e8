//! Roles: the list, create, edit the ATS settings (Lever job titles and
//! posting ids) and ATS tags (Lever posting tags) — `console.js` turns each
//! one-per-line textarea into a tag list where Enter adds and × removes —,
//! trigger stages, pass score and next stage, fallback, delete, "which role
//! would this posting get?", and the unmapped postings from health with one
//! click to add one to a role.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::form::Fields;
use super::layout::{self, FormError, OrgCtx, csrf, field_error, notice, pager};
use super::session::{Post, User};
use super::{ConsoleError, html, html_status, org_ctx, see_other};
use crate::service::list::ListQuery;
use crate::service::roles::{self, CreateRole, PatchRole, ResolveQuery, RoleView, StageName};
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

/// One tag-list field: its input name, label and what one entry is.
struct TagField {
    name: &'static str,
    label: &'static str,
    one: &'static str,
    /// One entry, for the tag list's input.
    what: &'static str,
}

const JOBS: TagField = TagField {
    name: "ats_jobs",
    label: "ATS settings: Lever job titles and posting ids",
    one: "One Lever job title or posting id per line.",
    what: "a Lever job title or posting id",
};
const TAGS: TagField = TagField {
    name: "ats_tags",
    label: "ATS tags: Lever posting tags",
    one: "One Lever posting tag per line, spelled exactly as in Lever.",
    what: "a Lever posting tag",
};
const STAGES: TagField = TagField {
    name: "stages",
    label: "Trigger stages (stage ids; empty: every trigger stage)",
    one: "One Lever stage id per line.",
    what: "a Lever stage id",
};

fn tag_list(id: &str, field: &TagField, values: &[String], err: Option<&str>) -> Markup {
    html! {
        label for=(id) { (field.label) }
        p.hint id={ (id) "-hint" } { (field.one) " With JavaScript: type one and press Enter to add it, × removes it." }
        textarea id=(id) name=(field.name) rows="3" data-tag-list="true" data-what=(field.what)
            aria-describedby={ (id) "-hint" } { (values.join("\n")) }
        (field_error(field.name, err))
    }
}

/// The pass score as typed: empty clears it.
fn typed_pass_score(f: &Fields) -> Result<Option<i64>, ServiceError> {
    let v = f.get("pass_score").trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse().map(Some).map_err(|_| {
        ServiceError::invalid(
            "pass_score",
            "`pass_score` must be a whole number from 0 to 100",
        )
    })
}

/// The next stage as shown: its name, else its id.
fn next_stage_text(r: &RoleView) -> String {
    r.on_pass_stage
        .as_ref()
        .and_then(|s| s.name.clone().or_else(|| s.id.clone()))
        .unwrap_or_default()
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
            ..ResolveQuery::default()
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
    let typed_tags = typed.map(|f| entries(f, "ats_tags")).unwrap_or_default();
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
                    (tag_list("new-jobs", &JOBS, &typed_jobs,
                        FormError::on(err, "create", "ats_jobs").as_deref()))
                    (tag_list("new-tags", &TAGS, &typed_tags,
                        FormError::on(err, "create", "ats_tags").as_deref()))
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
                @for t in &r.ats_tags { li.tag.posting-tag { "tag: " (t) } }
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
        ats_tags: entries(f, "ats_tags"),
        fallback: f.has("fallback"),
        link_ttl_days: None,
        stages: Vec::new(),
        pass_score: None,
        on_pass_stage: None,
    };
    match roles::create(&state, &post.user.caller, org.id, &body).await {
        Ok(_) => Ok(see_other(&format!("{}/roles?done=created", org.base()))),
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("create", &e, &["name", "ats_jobs", "ats_tags"]);
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
    let tags = typed
        .map(|f| entries(f, "ats_tags"))
        .unwrap_or_else(|| r.ats_tags.clone());
    let stages = typed
        .map(|f| entries(f, "stages"))
        .unwrap_or_else(|| r.stages.clone());
    let pass_score = typed
        .map(|f| f.get("pass_score").to_owned())
        .unwrap_or_else(|| r.pass_score.map(|p| p.to_string()).unwrap_or_default());
    let next_stage = typed
        .map(|f| f.get("on_pass_stage").to_owned())
        .unwrap_or_else(|| next_stage_text(r));
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
                    (tag_list("role-jobs", &JOBS, &jobs,
                        FormError::on(err, "update", "ats_jobs").as_deref()))
                    (tag_list("role-tags", &TAGS, &tags,
                        FormError::on(err, "update", "ats_tags").as_deref()))
                    (tag_list("role-stages", &STAGES, &stages,
                        FormError::on(err, "update", "stages").as_deref()))
                    label for="pass-score" { "Pass score (0-100; empty: no pass or fail)" }
                    input #pass-score type="number" name="pass_score" min="0" max="100" step="1" value=(pass_score);
                    (field_error("pass_score", FormError::on(err, "update", "pass_score").as_deref()))
                    label for="next-stage" { "Next stage for a passing candidate (a Lever stage name; empty: no move)" }
                    input #next-stage type="text" name="on_pass_stage" value=(next_stage);
                    (field_error("on_pass_stage", FormError::on(err, "update", "on_pass_stage").as_deref()))
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
                dt { "Pass score" } dd { (pass_score) }
                dt { "Next stage" } dd { (next_stage) }
            }
            ul.tags aria-label="ATS settings" { @for j in &r.ats_jobs { li.tag { (j) } } }
            ul.tags aria-label="ATS tags" { @for t in &r.ats_tags { li.tag { (t) } } }
        }
        p { a href={ (base) "/roles" } { "← All roles" } }
    };
    layout::page(user, Some(org), "roles", &format!("Role: {}", r.name), body)
}

/// The editor's fields an error can be shown beside.
const EDIT_FIELDS: &[&str] = &[
    "name",
    "ats_jobs",
    "ats_tags",
    "stages",
    "pass_score",
    "on_pass_stage",
];

/// The editor's form as a change to the role `r`. A next stage typed as
/// shown stays as stored (by id, when set over the API).
fn edit_patch(f: &Fields, r: &RoleView) -> Result<PatchRole, ServiceError> {
    let typed_stage = f.get("on_pass_stage").trim().to_owned();
    let on_pass_stage = if typed_stage == next_stage_text(r) {
        None
    } else if typed_stage.is_empty() {
        Some(None)
    } else {
        Some(Some(StageName {
            id: None,
            name: Some(typed_stage),
        }))
    };
    Ok(PatchRole {
        name: Some(f.get("name").to_owned()),
        ats_jobs: Some(entries(f, "ats_jobs")),
        ats_tags: Some(entries(f, "ats_tags")),
        stages: Some(entries(f, "stages")),
        fallback: Some(f.has("fallback")),
        pass_score: Some(typed_pass_score(f)?),
        on_pass_stage,
        // Not on the form: a role's own link time to live is set over the API.
        link_ttl_days: None,
    })
}

async fn update(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, role) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    let f = &post.fields;
    let current = roles::get(&state, &post.user.caller, org.id, role).await?;
    let result = match edit_patch(f, &current) {
        Ok(patch) => roles::update(&state, &post.user.caller, org.id, role, &patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}/roles/{role}?done=updated",
            org.base()
        ))),
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let current = roles::get(&state, &post.user.caller, org.id, role).await?;
            let err = FormError::from_service("update", &e, EDIT_FIELDS);
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
        ats_jobs: Some(jobs),
        ..PatchRole::default()
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
