//! The sweep's parts: the simulator's opportunity list, silent
//! moves and webhook controls; the client's stage listing; the store that
//! records what a sweep finds; `POST .../lever/sweep`; the health figures
//! and problems; `ARKITER_SWEEP_INTERVAL`.

mod api;
mod client;
pub mod pipeline;
mod run;
mod sim;
mod store;
