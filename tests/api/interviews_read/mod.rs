//! The read side of interviews (docs/contract/http-api.md) and the two public pages behind
//! the links (docs/contract/http-api.md), over rows seeded as the pipeline writes them.

mod api;
mod pages;
pub mod seed;
