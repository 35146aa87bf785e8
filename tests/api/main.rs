//! The one integration-test binary: every test gets its own database and app.
#![allow(clippy::unwrap_used)]

mod helpers;
mod proxy;

mod errors;
mod health;
mod migrations;
mod orgs_and_keys;
mod settings;
