//! The `arkiter-lever` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    arkiter_lever::cli::run(arkiter_lever::cli::Cli::parse())
}
