//! The `arkiter-lever` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc hands unused pages back within seconds of a burst, where glibc's
/// malloc kept a quarter of the peak resident (see `arkiter_lever::memory`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol before `main`.
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_CONF: Option<&std::ffi::c_char> =
    // SAFETY: the pointer is to a static NUL-terminated string.
    Some(unsafe { &*arkiter_lever::memory::JEMALLOC_CONF.as_ptr() });

fn main() -> ExitCode {
    arkiter_lever::cli::run(arkiter_lever::cli::Cli::parse())
}
