//! arkiter-lever: the Lever integration of Arkiter Live, as a hosted,
//! multi-tenant webhook service (README.md; the contract is `docs/contract/`).
//!
//! The code is a house of three floors, and nothing imports from a floor
//! above its own (`docs/ARCHITECTURE.md`; its floors block is the map
//! `tests/api/layers.rs` checks):
//! - the front doors: [`http`] (the API and the public routes), [`console`],
//!   [`cli`], [`demo`], with [`server`] wiring them and [`telemetry`];
//! - the application functions both front doors use: [`service`], over the
//!   shared [`state`], and the [`health`] report;
//! - the machinery: [`ingest`], [`pipeline`], [`sweep`], [`lease`],
//!   [`connections`], [`wake`], [`memory`], [`retention`], [`roster`],
//!   [`alerts`], [`trace_context`]; beneath them the tables ([`db`]);
//!   and at the bottom the Lever client ([`lever`]), the settings
//!   ([`config`]) and the pure types and rules ([`domain`]).

pub mod alerts;
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
pub mod retention;
pub mod roster;
pub mod server;
pub mod service;
pub mod state;
pub mod sweep;
pub mod telemetry;
pub mod trace_context;
pub mod wake;
