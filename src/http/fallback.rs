//! The answer to requests no route takes: 405 with `Allow` when the path is
//! a known route's (another method: TRACE, HEAD, a typo), else 404, both in
//! the one error shape. Apart from `error` because it reads the OpenAPI
//! document, which names every route.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::error::ApiError;

/// The fallback for requests no route takes: 405 with `Allow` when the path
/// is a known route's (any other method: TRACE, HEAD, a typo), else 404.
pub async fn unknown_route(req: HttpRequest) -> HttpResponse {
    let Some(pattern) = req.match_pattern() else {
        return ApiError::NotFound("no such route".into()).error_response();
    };
    let allow = super::openapi::methods_of(&pattern);
    let message = format!(
        "{} is not allowed on this path; use {}",
        req.method(),
        allow.join(", ")
    );
    let mut resp = ApiError::Other {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message,
    }
    .error_response();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow.join(", ")) {
        resp.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    resp
}
