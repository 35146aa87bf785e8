//! The HTTP interface: one module per resource, each with `config()` wiring its
//! routes; the shared error shape, auth extractor, pagination and validation.

pub mod auth;
pub mod body;
pub mod error;
pub mod health;
pub mod keys;
pub mod lever;
pub mod metrics;
pub mod openapi;
pub mod orgs;
pub mod pagination;
pub mod roles;
pub mod validate;

use actix_web::web;

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(error::extractor_configs)
        .configure(health::config)
        .configure(metrics::config)
        .configure(openapi::config)
        .configure(orgs::config)
        .configure(keys::config)
        .configure(lever::config)
        .configure(roles::config);
}
