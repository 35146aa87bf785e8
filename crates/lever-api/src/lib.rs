//! Everything that speaks to Lever: the wire format ([`wire`]), the webhook
//! signature ([`signature`]), OAuth with PKCE ([`oauth`]), and the
//! per-connection API client ([`LeverClient`]) with its rate limiter, retries
//! and metrics.
//!
//! The crate reads no settings and no database. A caller converts its own
//! settings (`LEVER_*` in arkiter-lever, SPEC §2) into [`OAuthConfig`],
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

pub mod client;
pub mod errors;
pub mod http;
pub mod metrics;
pub mod oauth;
pub mod retry;
pub mod signature;
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
