//! Everything that speaks to Lever: the wire format, the webhook signature,
//! OAuth, the per-connection API client, and an in-memory Lever simulator.
//!
//! This module is self-contained: it does not read the app's settings or
//! database. The app converts its settings (`LEVER_*`, SPEC §2) into
//! [`OAuthConfig`], [`LeverClientConfig`] and [`new_limiter`], and implements
//! [`TokenSource`] against its database.

pub mod client;
pub mod errors;
pub mod http;
pub mod metrics;
pub mod oauth;
pub mod retry;
pub mod signature;
pub mod sim;
pub mod token;
pub mod wire;

pub use client::{LeverClient, LeverClientConfig, OutcomeObserver, new_limiter};
pub use errors::{Failure, LeverError};
pub use http::HttpSettings;
pub use metrics::CallOutcome;
pub use oauth::{AuthorizeCallback, CallbackError, OAuthConfig, SCOPES, TokenGrant};
pub use retry::RetryPolicy;
pub use signature::SignatureError;
pub use token::{InMemoryTokenSource, RotationCallback, StaticToken, TokenSource};
