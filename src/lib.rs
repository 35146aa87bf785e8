//! arkiter-lever: the Lever integration of Arkiter Live, as a hosted,
//! multi-tenant webhook service. See README.md and ../shared/docs/SPEC.md.

pub mod app;
pub mod cli;
pub mod config;
pub mod connections;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod health;
pub mod http;
pub mod ingest;
pub mod lease;
pub mod lever;
pub mod memory;
pub mod pipeline;
pub mod sweep;
pub mod telemetry;
pub mod wake;
