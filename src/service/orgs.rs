//! Orgs, the tenants: creating one (with its first admin key), listing
//! them (the super-admin) and reading one.

use crate::db::models::api_key::{ApiKey, NewApiKey};
use crate::db::models::org::Org;
use crate::domain::api_keys;
use crate::domain::ids::OrgId;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::service::list::{List, ListQuery};
use crate::service::validate;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// 1-200 characters.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Org> for OrgView {
    fn from(o: Org) -> Self {
        Self {
            id: o.id,
            name: o.name,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrg {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The org's first admin key; shown only here.
    pub admin_key: String,
    pub admin_key_id: Uuid,
}

/// Creates an org and its first admin key; only the super-admin may.
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: &CreateOrg,
) -> Result<CreatedOrg, ServiceError> {
    caller.require_super()?;
    let name = validate::name("name", &body.name)?;
    let key = api_keys::issue();
    let (key_id, key_text) = (key.id, key.text.clone());
    let caller = caller.clone();
    let org = state
        .db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                let org = Org::insert(conn, Uuid::new_v4(), &name)?;
                let new_key = NewApiKey {
                    id: key.id,
                    org_id: org.id,
                    role: KeyRole::Admin.as_str(),
                    label: "initial admin key",
                    secret_sha256: &key.secret_sha256,
                };
                ApiKey::insert(conn, &new_key)?;
                Audit::new(&caller, OrgId(org.id), Action::OrgCreated, "org created")
                    .write(conn)?;
                Ok(org)
            })
        })
        .await?;
    Ok(CreatedOrg {
        id: org.id,
        name: org.name,
        created_at: org.created_at,
        admin_key: key_text,
        admin_key_id: key_id,
    })
}

/// One page of orgs; only the super-admin may list them.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    query: &ListQuery,
) -> Result<List<OrgView>, ServiceError> {
    caller.require_super()?;
    let page = query.page()?;
    let orgs = state.db.run(move |conn| Ok(Org::list(conn, page)?)).await?;
    Ok(List::from_page(orgs, OrgView::from))
}

/// The org as `caller` may see it.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn get(state: &AppState, caller: &Caller, org: OrgId) -> Result<OrgView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    let found = state
        .db
        .run(move |conn| Ok(Org::find(conn, org.0)?))
        .await
        .map_err(|e| ServiceError::from(e).naming("org"))?;
    Ok(found.into())
}
