//! The admin API's JSON body extractor. It reads the body as `web::Json`
//! does (the limits, content-type rule and error shape of `JsonConfig`, see
//! [`super::error::extractor_configs`]), then refuses text Postgres cannot
//! hold (a NUL: 422 naming the field, see [`crate::domain::text`]), then fits
//! the value to the endpoint's type (400). Handlers take `Json<T>` from here,
//! never `web::Json<T>`, so no body reaches the database unchecked.

use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::domain::text::{NUL_REASON, nul_path};

/// A checked JSON body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move { Ok(Json(fit(value.await?.into_inner())?)) })
    }
}

/// A parsed body, checked and fitted to `T`.
pub fn fit<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if let Some(at) = nul_path(&value) {
        return Err(ApiError::Validation(format!("`{at}` {NUL_REASON}")));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::InvalidJson(format!("the JSON does not fit this endpoint: {e}")))
}
