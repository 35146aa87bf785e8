//! Domain types and rules that do not depend on HTTP or the database.

pub mod api_keys;
pub mod candidate_ref;
pub mod errors;
pub mod ids;
pub mod roles;
pub mod secrets;
pub mod stages;
pub mod status;
pub mod text;
