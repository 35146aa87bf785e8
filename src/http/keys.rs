//! `/api/v1/orgs/{org}/keys`: an org's API keys (admin only). The key text is
//! shown once, at creation; lists never show secrets.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, KeyRole};
use super::error::{ApiError, ErrorBody};
use super::pagination::{List, ListQuery, org_page};
use super::validate;
use crate::app::AppState;
use crate::db::models::api_key::{ApiKey, NewApiKey};
use crate::domain::api_keys;
use crate::domain::ids::OrgId;
use crate::http::json::Json;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_keys)
        .service(create_key)
        .service(delete_key);
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    Member,
}

impl From<RoleName> for KeyRole {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Admin => KeyRole::Admin,
            RoleName::Member => KeyRole::Member,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub role: RoleName,
    /// Up to 200 characters; optional.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: Uuid,
    pub role: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            role: k.role,
            label: k.label,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: Uuid,
    pub role: String,
    pub label: String,
    /// `ak_<key_id>_<secret>`: shown only here.
    pub key: String,
}

/// List an org's keys (never their secrets).
#[utoipa::path(
    params(("org" = Uuid, Path), ListQuery),
    responses((status = 200, body = List<KeyView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/api/v1/orgs/{org}/keys")]
pub async fn list_keys(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<List<KeyView>>, ApiError> {
    let org = OrgId(path.into_inner());
    Ok(web::Json(list_for(&state, &caller, org, &query).await?))
}

/// The org's keys as `caller` may see them (admins only); shared with the console.
pub async fn list_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ListQuery,
) -> Result<List<KeyView>, ApiError> {
    let load = move |conn: &mut diesel::PgConnection, page| ApiKey::list(conn, org.0, page);
    org_page(
        state,
        caller,
        org,
        KeyRole::Admin,
        query,
        load,
        KeyView::from,
    )
    .await
}

/// Create a key; the response is the only time its text is shown.
#[utoipa::path(
    params(("org" = Uuid, Path)),
    request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/api/v1/orgs/{org}/keys")]
pub async fn create_key(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: Json<CreateKey>,
) -> Result<HttpResponse, ApiError> {
    let org = OrgId(path.into_inner());
    let created = create_for(&state, &caller, org, &body).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Creates a key of `org`; the returned text is the only copy. Shared with the console.
pub async fn create_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &CreateKey,
) -> Result<CreatedKey, ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let label = match &body.label {
        Some(l) => validate::bounded_text("label", l, 0, 200)?,
        None => String::new(),
    };
    let role = KeyRole::from(body.role);
    let issued = api_keys::issue();
    let key_text = issued.text.clone();
    let key = state
        .db
        .run(move |conn| {
            let new = NewApiKey {
                id: issued.id,
                org_id: org.0,
                role: role.as_str(),
                label: &label,
                secret_sha256: &issued.secret_sha256,
            };
            Ok(ApiKey::insert(conn, &new)?)
        })
        .await?;
    Ok(CreatedKey {
        id: key.id,
        role: key.role,
        label: key.label,
        key: key_text,
    })
}

/// Delete a key; it stops working at once.
#[utoipa::path(
    params(("org" = Uuid, Path), ("key_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/api/v1/orgs/{org}/keys/{key_id}")]
pub async fn delete_key(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (org, key_id) = path.into_inner();
    delete_for(&state, &caller, OrgId(org), key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a key of `org`; it (and every console session signed in with it)
/// stops working at once. Shared with the console.
pub async fn delete_for(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    key_id: Uuid,
) -> Result<(), ApiError> {
    caller.require_org(org, KeyRole::Admin)?;
    let deleted = state
        .db
        .run(move |conn| Ok(ApiKey::delete(conn, org.0, key_id)?))
        .await?;
    if deleted == 0 {
        return Err(ApiError::not_found("key"));
    }
    Ok(())
}
