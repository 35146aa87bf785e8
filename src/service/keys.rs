//! An org's API keys (admins only): list, create, delete. The key text is
//! shown once, at creation; lists never show secrets.

use crate::db::models::api_key::{ApiKey, NewApiKey};
use crate::domain::api_keys;
use crate::domain::ids::OrgId;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::service::list::{List, ListQuery, org_page};
use crate::service::validate;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    Member,
}

impl RoleName {
    /// A role as a form spells it: `admin` or `member`, nothing else.
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        match KeyRole::parse(text.trim()) {
            Some(KeyRole::Admin) => Ok(Self::Admin),
            Some(KeyRole::Member) => Ok(Self::Member),
            None => Err(ServiceError::invalid(
                "role",
                "`role` must be `admin` or `member`",
            )),
        }
    }
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

/// The org's keys as `caller` may see them (admins only).
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ListQuery,
) -> Result<List<KeyView>, ServiceError> {
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

/// Creates a key of `org`; the returned text is the only copy.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &CreateKey,
) -> Result<CreatedKey, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let label = match &body.label {
        Some(l) => validate::bounded_text("label", l, 0, 200)?,
        None => String::new(),
    };
    let role = KeyRole::from(body.role);
    let issued = api_keys::issue();
    let key_text = issued.text.clone();
    let audit = Audit::new(
        caller,
        org,
        Action::KeyCreated,
        format!("{} key \"{label}\"", role.as_str()),
    )
    .on(issued.id);
    let key = state
        .db
        .transaction(move |conn| {
            let new = NewApiKey {
                id: issued.id,
                org_id: org.0,
                role: role.as_str(),
                label: &label,
                secret_sha256: &issued.secret_sha256,
            };
            let key = ApiKey::insert(conn, &new)?;
            audit.write(conn)?;
            Ok::<_, ServiceError>(key)
        })
        .await?;
    Ok(CreatedKey {
        id: key.id,
        role: key.role,
        label: key.label,
        key: key_text,
    })
}

/// Deletes a key of `org`; it (and every console session signed in with it)
/// stops working at once.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    key_id: Uuid,
) -> Result<(), ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let audit = Audit::new(caller, org, Action::KeyDeleted, "key deleted").on(key_id);
    state
        .db
        .transaction(move |conn| {
            if ApiKey::delete(conn, org.0, key_id)? == 0 {
                return Err(ServiceError::not_found("key"));
            }
            Ok(audit.write(conn)?)
        })
        .await
}
