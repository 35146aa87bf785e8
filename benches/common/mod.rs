//! What every benchmark shares: a test bed (embedded Postgres, the Lever
//! simulator and the service, all in this process), connected orgs with
//! candidates, and figures with PASS/FAIL verdicts.
//!
//! Benchmarks run on an actix System (`common::run`), bind loopback only and
//! clean up after themselves (the temporary cluster is removed on exit).

#![allow(dead_code, unused_imports)]

pub mod bed;
pub mod child;
pub mod fill;
pub mod hook;
pub mod load;
pub mod metrics;
pub mod org;
pub mod pgstat;
pub mod seed;
pub mod stats;
pub mod wrk;

// The binary's allocator and its options, so an in-process service is
// measured as it ships.
arkiter_lever::use_jemalloc!();

pub use bed::{Bed, BedOptions};
pub use hook::Hook;
pub use org::Org;
pub use stats::{Samples, Verdicts};

/// Runs `f` on a fresh actix System (the simulator and the service need one).
pub fn run<F, Fut>(f: F) -> bool
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    actix_web::rt::System::new().block_on(f())
}

/// Exit code for a benchmark: 0 when every target was met.
pub fn exit(all_passed: bool) -> ! {
    std::process::exit(if all_passed { 0 } else { 1 })
}

/// Wall-clock time for the report header, as `date` prints it (UTC).
pub fn header(name: &str) {
    println!(
        "== {name} == {} UTC, {} CPUs",
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
}

/// The value of environment variable `name`, or `default` when unset or
/// unparseable (the benches' size knobs).
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
