//! Lever's deliveries and what became of them: `POST /webhooks/lever/{id}`
//! (public, signed by Lever, never rate limited, no bearer) and the admin
//! list `GET /api/v1/orgs/{org}/events`. The verify-and-store logic lives in
//! [`crate::ingest`]; this module is the HTTP edge.

pub mod events;
pub mod receive;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(receive::receive).service(events::list_events);
}
