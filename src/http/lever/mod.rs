//! `/api/v1/orgs/{org}/lever...` and `/oauth/lever/callback`: connecting an
//! org's Lever account, reading and changing the connection, the manual
//! webhook secret, asking for a sweep, and disconnecting.

pub mod callback;
pub mod connect;
pub mod disconnect;
pub mod settings;
pub mod sweep;
pub mod view;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(connect::connect)
        .service(callback::callback)
        .service(view::get_connection)
        .service(settings::patch_connection)
        .service(settings::put_webhook_secret)
        .service(sweep::request_sweep)
        .service(disconnect::disconnect);
}
