//! The `arkiter-lever` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

// jemalloc hands unused pages back within a second of a burst, where glibc's
// malloc kept a quarter of the peak resident (see `arkiter_lever::memory`).
arkiter_lever::use_jemalloc!();

fn main() -> ExitCode {
    arkiter_lever::cli::run(arkiter_lever::cli::Cli::parse())
}
