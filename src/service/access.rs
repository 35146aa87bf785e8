//! Who is asking, and what they may do.
//!
//! Two kinds of credential: the super-admin token (`ARKITER_ADMIN_TOKEN`),
//! which manages orgs and may act on any org, and org keys
//! `ak_<key_id>_<secret>` with role `admin` or `member`, looked up by id and
//! checked by digest in constant time. The rules every application function
//! applies through [`Caller::require_org`]: a member acting where an admin
//! is needed is `forbidden`; a key of another org gets `not_found`, never
//! `forbidden`, so ids of other orgs cannot be probed.

use secrecy::ExposeSecret;
use uuid::Uuid;

use super::ServiceError;
use crate::db::models::api_key::ApiKey;
use crate::domain::api_keys;
use crate::domain::ids::OrgId;
use crate::state::AppState;

/// What an org key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyRole {
    Member,
    Admin,
}

impl KeyRole {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    Super,
    Key {
        key_id: Uuid,
        org_id: OrgId,
        role: KeyRole,
    },
}

impl Caller {
    /// The caller may act on `org` with at least `need`.
    pub fn require_org(&self, org: OrgId, need: KeyRole) -> Result<(), ServiceError> {
        match self {
            Self::Super => Ok(()),
            Self::Key { org_id, .. } if *org_id != org => Err(ServiceError::not_found("org")),
            Self::Key { role, .. } if *role < need => Err(ServiceError::forbidden(format!(
                "this key's role ({}) may not do this; an admin key is needed",
                role.as_str()
            ))),
            Self::Key { .. } => Ok(()),
        }
    }

    /// The caller is the super-admin (an org key is `forbidden`).
    pub fn require_super(&self) -> Result<(), ServiceError> {
        match self {
            Self::Super => Ok(()),
            Self::Key { .. } => Err(ServiceError::forbidden(
                "only the super-admin token may do this",
            )),
        }
    }
}

/// The refusal for a token that is no key of ours.
pub fn bad_credentials() -> ServiceError {
    ServiceError::unauthorized("the key is not valid (unknown, deleted or mistyped)")
}

/// Who `token` is: the super-admin, or an org key (its last use recorded).
#[tracing::instrument(skip_all)]
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ServiceError> {
    if let Some(admin) = &state.settings.admin_token
        && api_keys::tokens_equal(token, admin.expose_secret())
    {
        return Ok(Caller::Super);
    }
    let (key_id, secret) = api_keys::parse(token).ok_or_else(bad_credentials)?;
    let secret = secret.to_owned();
    let found = state
        .db
        .run(move |conn| match ApiKey::find(conn, key_id) {
            Ok(key) if api_keys::secret_matches(&secret, &key.secret_sha256) => {
                ApiKey::touch(conn, key.id)?;
                Ok(Some(key))
            }
            Ok(_) | Err(diesel::result::Error::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        })
        .await?;
    let key = found.ok_or_else(bad_credentials)?;
    let role = KeyRole::parse(&key.role).ok_or_else(bad_credentials)?;
    Ok(Caller::Key {
        key_id: key.id,
        org_id: OrgId(key.org_id),
        role,
    })
}
