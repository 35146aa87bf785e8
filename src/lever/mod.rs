//! Everything that speaks to Lever, kept at its old path: the `lever-api`
//! crate (wire format, webhook signature, OAuth, the per-connection API
//! client) re-exported whole, and the `lever-sim` crate as [`sim`].
//!
//! Neither crate reads the app's settings or database. The app converts its
//! settings (`LEVER_*`, docs/contract/settings.md) into [`OAuthConfig`], [`LeverClientConfig`]
//! and [`new_limiter`], and implements [`TokenSource`] against its database.

pub use lever_api::*;
pub use lever_sim as sim;
