//! The one integration-test binary: every test gets its own database and app.
#![allow(clippy::unwrap_used)]

mod helpers;
mod proxy;
mod support;

mod bulk_replay;
mod checklist;
mod console;
mod console_input;
mod crash;
mod db_pool;
mod demo;
mod erase;
mod errors;
mod health;
mod health_report;
mod hostile;
mod inbox_store;
mod interviews_read;
mod layers;
mod lever_client;
mod lever_connect;
mod lever_flow;
mod lever_sim;
mod lever_support;
mod lever_tokens;
mod lever_wire;
mod lifecycle;
mod log_secrets;
mod migrations;
mod one_candidate;
mod orgs_and_keys;
mod outcomes;
mod pipeline;
mod pipeline_outages;
mod races;
mod results_written;
mod retention;
mod roles;
mod rolling;
mod scale_out;
mod settings;
mod sweep;
mod timeline;
mod trigger_stages;
mod webhooks;
