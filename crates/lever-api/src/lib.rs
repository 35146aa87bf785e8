//! Everything that speaks to Lever: the wire format ([`wire`]), the webhook
//! signature ([`signature`]), OAuth with PKCE ([`oauth`]), and the
//! per-connection API client ([`LeverClient`]) with its rate limiter, retries
//! and metrics. Without its default `client` feature it is only the wire
//! format and the signature (what the fuzz targets build).
//!
//! The crate reads no settings and no database. A caller converts its own
//! settings (`LEVER_*` in arkiter-lever, docs/contract/settings.md) into [`OAuthConfig`],
//! [`LeverClientConfig`] and [`new_limiter`], and implements [`TokenSource`]
//! against its own storage ([`InMemoryTokenSource`] and [`StaticToken`] are
//! ready-made ones). Both arkiter-lever and the `lever-sim` simulator depend
//! on it, so the two can only agree on the shapes Lever documents.
//!
//! ```
//! use lever_api::signature;
//!
//! let sig = signature::sign("signature-token", "delivery-token", 1_700_000_000_000);
//! assert!(signature::verify(
//!     "signature-token",
//!     "delivery-token",
//!     1_700_000_000_000,
//!     Some(&sig),
//!     1_700_000_000_000,
//! )
//! .is_ok());
//! ```

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod errors;
#[cfg(feature = "client")]
pub mod http;
#[cfg(feature = "client")]
pub mod metrics;
#[cfg(feature = "client")]
pub mod oauth;
#[cfg(feature = "client")]
pub mod retry;
pub mod signature;
#[cfg(feature = "client")]
pub mod token;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{
    AttemptRecord, AttemptRecorder, LATE_LANDING, LeverClient, LeverClientConfig, OutcomeObserver,
    WriteFence, new_limiter, write_lands_within,
};
#[cfg(feature = "client")]
pub use errors::{Failure, LeverError};
#[cfg(feature = "client")]
pub use http::HttpSettings;
#[cfg(feature = "client")]
pub use metrics::CallOutcome;
#[cfg(feature = "client")]
pub use oauth::{AuthorizeCallback, CORE_SCOPES, CallbackError, OAuthConfig, SCOPES, TokenGrant};
#[cfg(feature = "client")]
pub use retry::RetryPolicy;
pub use signature::SignatureError;

/// The `tracing` target of the spans that exist only for exported traces
/// (each attempt's client span here): at `debug` level, so they are off
/// unless a trace exporter (or `RUST_LOG`) asks for them.
pub const TRACE_TARGET: &str = "otel";
#[cfg(feature = "client")]
pub use token::{InMemoryTokenSource, RotationCallback, StaticToken, TokenSource};
