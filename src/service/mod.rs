//! The application functions: what the HTTP API and the console both do, as
//! plain async functions over typed input, returning typed results or a
//! [`ServiceError`]. This floor sits between the front doors (`http`,
//! `console`, `cli`, `demo`), which parse requests and shape answers, and
//! the machinery (tables, the Lever client, ingest, pipeline, sweep), which
//! it calls. Input rules live here ([`validate`]), so every front door
//! refuses the same values with the same words.
//!
//! Every function that acts on an org takes the [`access::Caller`] and checks
//! it first ([`access::Caller::require_org`]).

pub mod access;
pub mod actions;
pub mod alerts;
pub mod audit;
pub mod candidates;
pub mod connection;
pub mod error;
pub mod events;
pub mod health;
pub mod interviews;
pub mod keys;
pub mod list;
pub mod orgs;
pub mod roles;
pub mod sessions;
pub mod timeline;
pub mod usage;
pub mod validate;

pub use error::{Kind, ServiceError};
