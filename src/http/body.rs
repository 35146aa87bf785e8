//! Bodies that may be absent: an empty body means "all defaults", anything
//! else must be JSON of the right shape (400/415/422 as for every admin body,
//! NUL check included: see [`super::json`]). The body is read here, under the
//! admin API's size limit, so a body too large is the usual 413 envelope too.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::{ApiError, MAX_JSON_BODY};

/// A JSON body that may be left out (`T::default()` then).
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    if super::limits::is_body_timeout(&e) {
                        super::limits::body_timeout()
                    } else {
                        ApiError::InvalidJson(format!("the body could not be read: {e}"))
                    }
                })?;
                if body.len() + chunk.len() > MAX_JSON_BODY {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "the body is larger than {MAX_JSON_BODY} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            optional_json(&req, &body).map(Self)
        })
    }
}

fn optional_json<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ));
    }
    let value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidJson(format!("the body is not valid JSON: {e}")))?;
    super::json::fit(value)
}
