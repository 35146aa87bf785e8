//! Bearer authentication for the admin API: the `Authorization: Bearer`
//! header read into a [`Caller`] (`service::access` checks the credential
//! and the rules). No or bad credentials → 401; an org key on a
//! super-admin route, or a member on an admin action → 403; a key of another
//! org → 404 (never 403 across orgs).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::error::ApiError;
use crate::service::access::{self, Caller};
use crate::state::AppState;

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
            Ok(access::authenticate(&state, &token).await?)
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
            caller.await?.require_super()?;
            Ok(SuperAdmin)
        })
    }
}
