//! An org's Lever connection: connecting it (the OAuth start and return),
//! reading it, changing its settings and manual webhook secret, asking for a
//! sweep, and disconnecting.

pub mod authorise;
pub mod connect;
pub mod disconnect;
pub mod settings;
pub mod sweep;
pub mod view;
pub mod webhook_setup;
