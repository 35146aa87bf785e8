//! Leases: with several instances on one database, each connection is worked
//! on by exactly one, the holder of its lease row (owner, epoch, expiry),
//! renewed by heartbeat. A [`LeaseCell`] is this instance's view of one lease:
//! the epoch every worker write carries (the database refuses writes under an
//! old epoch) and the local deadline past which no Lever write is started.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How close to the local deadline a Lever write is no longer started: a
/// request in flight must land before another instance can take over.
pub const WRITE_MARGIN: Duration = Duration::from_millis(1500);

#[derive(Debug)]
struct Held {
    epoch: i64,
    /// Renewal time + lease duration, by this process's clock (measured from
    /// before the renewal was sent, so it errs early).
    deadline: Instant,
    released: bool,
}

/// This instance's hold on one connection's lease.
#[derive(Debug)]
pub struct LeaseCell {
    owner: String,
    held: Mutex<Held>,
}

impl LeaseCell {
    pub fn new(owner: String, epoch: i64, deadline: Instant) -> Self {
        Self {
            owner,
            held: Mutex::new(Held {
                epoch,
                deadline,
                released: false,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Held) -> T) -> T {
        f(&mut self.held.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn epoch(&self) -> i64 {
        self.with(|h| h.epoch)
    }

    /// A renewal succeeded (sent at `sent`).
    pub fn renewed(&self, epoch: i64, sent: Instant, lease: Duration) {
        self.with(|h| {
            h.epoch = epoch;
            h.deadline = sent + lease;
            h.released = false;
        });
    }

    /// Given up or lost: nothing more may be written under it.
    pub fn release(&self) {
        self.with(|h| h.released = true);
    }

    /// May a Lever write start now?
    pub fn writable(&self) -> bool {
        self.with(|h| !h.released && h.deadline > Instant::now() + WRITE_MARGIN)
    }
}
