//! A connection's Lever plumbing: the environment every Lever call shares
//! (transport, OAuth app, retry policy), one [`handle::ConnectionHandle`] per
//! connection (its rate limiter and database-backed token store, through which
//! every Lever call of that connection goes, whoever causes it), and the setup
//! steps that connecting and changing settings run against Lever.

pub mod env;
pub mod handle;
pub mod setup;
pub mod token_store;

pub use env::LeverEnv;
pub use handle::{ConnectionHandle, Handles};
