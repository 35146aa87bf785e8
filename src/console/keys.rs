//! Keys (admins): the org's keys, create one (its text shown once, on the
//! page that answers the form, never in a URL), delete one (its sessions end
//! at once).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::form::Fields;
use super::layout::{self, FormError, OrgCtx, csrf, field_error, notice, pager, when};
use super::session::{Post, User};
use super::{ConsoleError, html, html_status, org_ctx, see_other};
use crate::service::keys::{self, CreateKey, CreatedKey, RoleName};
use crate::service::list::ListQuery;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/keys", web::get().to(page))
        .route("/orgs/{org}/keys", web::post().to(create))
        .route("/orgs/{org}/keys/{key}/delete", web::post().to(delete));
}

#[derive(Debug, Deserialize, Default)]
pub struct KeysQuery {
    cursor: Option<String>,
    done: Option<String>,
}

async fn page(
    user: User,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<KeysQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &user, path.into_inner()).await?;
    let note = match query.done.as_deref() {
        Some("deleted") => {
            Some("Key deleted: it, and every console session signed in with it, stopped working.")
        }
        _ => None,
    };
    Ok(html(
        view(&state, &user, &org, &query, note, None, None, None).await?,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    user: &User,
    org: &OrgCtx,
    query: &KeysQuery,
    note: Option<&str>,
    created: Option<&CreatedKey>,
    err: Option<&FormError>,
    typed: Option<&Fields>,
) -> Result<Markup, ConsoleError> {
    let page = ListQuery::after(query.cursor.clone());
    let list = keys::list(state, &user.caller, org.id, &page).await?;
    let base = org.base();
    let typed_label = typed.map(|f| f.get("label").to_owned()).unwrap_or_default();
    let typed_role = typed.map(|f| f.get("role").to_owned()).unwrap_or_default();
    let body = html! {
        (notice(note))
        @if let Some(k) = created {
            section.card.shown-once role="status" {
                h2 { "New " (k.role) " key" }
                p { "Copy it now: it is shown only this once." }
                p { code #new-key { (k.key) } }
            }
        }
        div.table-wrap {
            table {
                thead { tr { th { "Label" } th { "Role" } th { "Created" } th { "Last used" } th { span.sr { "Actions" } } } }
                tbody {
                    @for k in &list.items {
                        tr.key {
                            td { (if k.label.is_empty() { "—" } else { &k.label }) }
                            td { (k.role) }
                            td { (when(Some(k.created_at))) }
                            td { (when(k.last_used_at)) }
                            td {
                                form.inline method="post" action={ (base) "/keys/" (k.id) "/delete" } {
                                    (csrf(user))
                                    button.danger type="submit" aria-label={ "Delete key " (k.label) } { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager(&format!("{base}/keys"), &[], query.cursor.is_none(), list.next_cursor.as_deref()))
        section.card aria-labelledby="new-key-h" {
            h2 #new-key-h { "Create a key" }
            (field_error("create", FormError::general(err, "create").as_deref()))
            form method="post" action={ (base) "/keys" } {
                (csrf(user))
                label for="key-role" { "Role" }
                select #key-role name="role" {
                    option value="member" selected[typed_role != "admin"] { "member (read-only)" }
                    option value="admin" selected[typed_role == "admin"] { "admin" }
                }
                (field_error("role", FormError::on(err, "create", "role").as_deref()))
                label for="key-label" { "Label (optional)" }
                input #key-label type="text" name="label" value=(typed_label);
                (field_error("label", FormError::on(err, "create", "label").as_deref()))
                button type="submit" { "Create key" }
            }
        }
    };
    Ok(layout::page(user, Some(org), "keys", "Keys", body))
}

async fn create(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let org = org_ctx(&state, &post.user, path.into_inner()).await?;
    let f = &post.fields;
    let q = KeysQuery::default();
    let created = match RoleName::parse(f.get("role")) {
        Ok(role) => {
            let body = CreateKey {
                role,
                label: Some(f.get("label").to_owned()),
            };
            keys::create(&state, &post.user.caller, org.id, &body).await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => {
            let body = view(
                &state,
                &post.user,
                &org,
                &q,
                None,
                Some(&created),
                None,
                None,
            )
            .await?;
            Ok(html_status(StatusCode::CREATED, body))
        }
        Err(e) if layout::is_form_error(&e) => {
            let status = super::status_of(e.kind());
            let err = FormError::from_service("create", &e, &["role", "label"]);
            let body = view(
                &state,
                &post.user,
                &org,
                &q,
                None,
                None,
                Some(&err),
                Some(f),
            )
            .await?;
            Ok(html_status(status, body))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    post: Post,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ConsoleError> {
    let (org, key) = path.into_inner();
    let org = org_ctx(&state, &post.user, org).await?;
    keys::delete(&state, &post.user.caller, org.id, key).await?;
    Ok(see_other(&format!("{}/keys?done=deleted", org.base())))
}
