//! Test support beyond `helpers`: the service in this process on a thread of
//! its own, the service as a child process on a port it bound itself, and a
//! typed client of the simulator's control API.

pub mod child;
pub mod server;
pub mod sim_control;
