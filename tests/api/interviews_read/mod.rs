//! The read side of interviews (SPEC §3.2) and the two public pages behind
//! the links (SPEC §3.1), over rows seeded as the pipeline writes them.

mod api;
mod pages;
pub mod seed;
