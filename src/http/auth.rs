//! Bearer authentication for the admin API.
//!
//! Two kinds of credential: the super-admin token (`ARKITER_ADMIN_TOKEN`), which
//! manages orgs and may act on any org, and org keys `ak_<key_id>_<secret>`
//! with role `admin` or `member`, looked up by id and checked by digest in
//! constant time. Rules (SPEC §3.0, §3.2): no or bad credentials → 401; an org
//! key on a super-admin route, or a member on an admin action → 403; a key of
//! another org → 404 (never 403 across orgs).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::error::ApiError;
use crate::app::AppState;
use crate::db::models::api_key::ApiKey;
use crate::domain::api_keys;
use crate::domain::ids::OrgId;

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
    pub fn require_org(&self, org: OrgId, need: KeyRole) -> Result<(), ApiError> {
        match self {
            Self::Super => Ok(()),
            Self::Key { org_id, .. } if *org_id != org => Err(ApiError::not_found("org")),
            Self::Key { role, .. } if *role < need => Err(ApiError::Forbidden(format!(
                "this key's role ({}) may not do this; an admin key is needed",
                role.as_str()
            ))),
            Self::Key { .. } => Ok(()),
        }
    }
}

/// A caller holding the super-admin token. 503 when no token is configured.
#[derive(Debug)]
pub struct SuperAdmin;

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <key>`".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <key>`".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "send `Authorization: Bearer <key>`".into(),
        ));
    }
    Ok(token.trim().to_owned())
}

pub fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("the key is not valid (unknown, deleted or mistyped)".into())
}

pub async fn authenticate(state: web::Data<AppState>, token: String) -> Result<Caller, ApiError> {
    if let Some(admin) = &state.settings.admin_token
        && api_keys::tokens_equal(&token, admin.expose_secret())
    {
        return Ok(Caller::Super);
    }
    let (key_id, secret) = api_keys::parse(&token).ok_or_else(bad_credentials)?;
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

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parts = app_state(req).and_then(|s| Ok((s, bearer(req)?)));
        Box::pin(async move {
            let (state, token) = parts?;
            authenticate(state, token).await
        })
    }
}

impl FromRequest for SuperAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let configured = app_state(req).map(|s| s.settings.admin_token.is_some());
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            if !configured? {
                return Err(ApiError::AdminTokenUnset);
            }
            match caller.await? {
                Caller::Super => Ok(SuperAdmin),
                Caller::Key { .. } => Err(ApiError::Forbidden(
                    "only the super-admin token may do this".into(),
                )),
            }
        })
    }
}
