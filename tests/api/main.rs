//! The one integration-test binary: every test gets its own database and app.
#![allow(clippy::unwrap_used)]

mod helpers;
mod proxy;

mod errors;
mod health;
mod lever_client;
mod lever_connect;
mod lever_flow;
mod lever_sim;
mod lever_support;
mod lever_wire;
mod migrations;
mod orgs_and_keys;
mod roles;
mod settings;
