//! The HTTP interface, a front door: one module per resource, each with
//! `config()` wiring its routes; the shared error shape, the auth extractor
//! and the JSON body extractor. Handlers parse the request, call the
//! application function of `service` and shape its answer; they hold no
//! rules of their own.

pub mod access_log;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod body;
pub mod candidates;
pub mod error;
pub mod events;
pub mod fallback;
pub mod health;
pub mod health_report;
pub mod interview_actions;
pub mod interviews;
pub mod json;
pub mod keys;
pub mod lever;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod orgs;
pub mod page;
pub mod pages;
pub mod roles;
pub mod secure_headers;
pub mod usage;
pub mod webhook;

use actix_web::web;

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Routes are tried in order, one regex each: the webhook, by far the
    // most frequent request, goes first.
    cfg.configure(error::extractor_configs)
        .configure(webhook::config)
        .configure(health::config)
        .configure(metrics::config)
        .configure(openapi::config)
        .configure(orgs::config)
        .configure(keys::config)
        .configure(interview_actions::config)
        .configure(lever::config)
        .configure(roles::config)
        .configure(interviews::config)
        .configure(candidates::config)
        .configure(events::config)
        .configure(audit::config)
        .configure(alerts::config)
        .configure(usage::config)
        .configure(pages::config)
        .configure(health_report::config);
}
