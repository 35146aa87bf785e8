//! Hostile clients and a database that goes away (issue 16): input Postgres
//! cannot hold, stalled connections, and pools that heal.

mod contract;
mod embedded;
mod fuzz;
mod headers;
mod nul;
mod oauth_binding;
mod pg_restart;
mod restart;
mod slow;
