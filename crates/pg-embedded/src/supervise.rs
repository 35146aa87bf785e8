//! The embedded cluster, supervised: if the
//! postmaster dies (killed, out of memory, crashed), it is started again on
//! the same port, retrying with backoff while the old one's processes wind
//! down. Meanwhile clients cannot connect (arkiter-lever's `/readyz` answers
//! 503); once it is back, they can reconnect. If it cannot be restarted
//! within [`GIVE_UP_AFTER`], the process exits with status 1, so that its own
//! supervisor (systemd, Kubernetes) restarts the whole service rather than
//! leaving it alive but without a database.
//!
//! Each failed restart attempt is handed to the caller's `on_retry_error`
//! (to count it, log it sparingly, ...): this crate does not decide how
//! often such errors are worth a log line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{EmbeddedError, EmbeddedPostgres};

/// How long to keep trying before exiting.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// How often the watcher wakes to check for a stop request.
const TICK: Duration = Duration::from_millis(250);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// A cluster being watched; [`Supervised::stop`] hands it back.
pub struct Supervised {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<EmbeddedPostgres>,
}

/// Watches `pg` on a thread of its own until [`Supervised::stop`];
/// `on_retry_error` hears of every restart attempt that failed but will be
/// retried.
pub fn supervise<F>(pg: EmbeddedPostgres, on_retry_error: F) -> std::io::Result<Supervised>
where
    F: FnMut(&EmbeddedError) + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("embedded-postgres-watch".into())
        .spawn(move || watch(pg, &flag, on_retry_error))?;
    Ok(Supervised { stop, thread })
}

impl Supervised {
    /// Stops watching and returns the cluster (still running), to be stopped
    /// by its owner.
    pub fn stop(self) -> Option<EmbeddedPostgres> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().ok()
    }
}

fn watch(
    mut pg: EmbeddedPostgres,
    stop: &AtomicBool,
    mut on_retry_error: impl FnMut(&EmbeddedError),
) -> EmbeddedPostgres {
    while !stop.load(Ordering::SeqCst) {
        if pg.exited_within(TICK) && !stop.load(Ordering::SeqCst) {
            tracing::error!(
                pid = pg.pid(),
                port = pg.port(),
                "embedded PostgreSQL exited; restarting it"
            );
            restart(&mut pg, stop, &mut on_retry_error);
        }
    }
    pg
}

/// Restarts with backoff; exits the process past [`GIVE_UP_AFTER`].
fn restart(
    pg: &mut EmbeddedPostgres,
    stop: &AtomicBool,
    on_retry_error: &mut impl FnMut(&EmbeddedError),
) {
    let started = Instant::now();
    let mut delay = FIRST_RETRY;
    while !stop.load(Ordering::SeqCst) {
        match pg.revive() {
            Ok(()) => {
                tracing::info!(
                    pid = pg.pid(),
                    after_ms = started.elapsed().as_millis() as u64,
                    "embedded PostgreSQL restarted"
                );
                return;
            }
            Err(e) if started.elapsed() >= GIVE_UP_AFTER => {
                tracing::error!(error = %e, "embedded PostgreSQL cannot be restarted; exiting so a supervisor restarts the service");
                std::process::exit(1);
            }
            Err(e) => {
                on_retry_error(&e);
                std::thread::sleep(delay);
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    }
}
