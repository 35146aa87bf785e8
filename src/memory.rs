//! Memory goes back to the system after a burst (issue 16). glibc's malloc
//! keeps freed memory in its arenas: after thousands of connections (each
//! with its read and write buffers) have come and gone, the process would
//! stay at its peak size for good. A thread asks malloc to return free memory
//! every [`TRIM_EVERY`]; the call walks the arenas and costs well under a
//! millisecond on an idle heap.

use std::sync::Once;
use std::time::Duration;

/// How often free memory is handed back.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

static STARTED: Once = Once::new();

/// Starts the trimming thread, once per process.
pub fn start_trimming() {
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(TRIM_EVERY);
                    trim();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the memory trimming thread");
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks and shrinks malloc's own heaps; it is
    // thread-safe and takes no pointers from us.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
