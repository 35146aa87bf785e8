//! The HTTP interface: one module per resource, each with `config()` wiring its
//! routes; the shared error shape, auth extractor, pagination and validation.

pub mod auth;
pub mod error;
pub mod health;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod orgs;
pub mod pagination;
pub mod validate;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::web;
use actix_web::ResponseError;

use error::ApiError;

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(error::extractor_configs)
        .configure(health::config)
        .configure(metrics::config)
        .configure(openapi::config)
        .configure(orgs::config)
        .configure(keys::config);
}

/// actix answers a known path with the wrong method with an empty 405; give it
/// the one error shape too.
pub fn error_shapes() -> ErrorHandlers<BoxBody> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, |res: ServiceResponse| {
        let err = ApiError::Other {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "this route does not take that method".into(),
        };
        let (req, _) = res.into_parts();
        let res = ServiceResponse::new(req, err.error_response()).map_into_right_body();
        Ok(ErrorHandlerResponse::Response(res))
    })
}
