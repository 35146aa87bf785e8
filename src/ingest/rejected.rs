//! Refused deliveries (a bad or missing signature, a stale timestamp),
//! counted in memory and written to the health counters in one statement
//! every [`FLUSH_EVERY`]: a flood of forged requests costs no database
//! round trip per request and never takes a pool slot from real
//! deliveries. The health page's `rejected_last_hour` is therefore at most
//! one flush interval behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use uuid::Uuid;

use crate::db::Pool;
use crate::db::models::health_record::{self, CounterKind};
use crate::domain::errors::Chain;

/// How often counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Counts kept while the database cannot take them, at most (one per
/// connection and minute); beyond that, new ones are dropped (and logged).
const MAX_PENDING: usize = 100_000;

type Counts = HashMap<(Uuid, DateTime<Utc>), i32>;

/// Refusals not yet written, by connection and minute.
#[derive(Debug, Default)]
pub struct Rejections {
    pending: Mutex<Counts>,
}

impl Rejections {
    /// Counts one refused delivery for `connection`, in this minute.
    pub fn record(&self, connection: Uuid) {
        let now = Utc::now();
        let minute = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let full = pending.len() >= MAX_PENDING;
        match pending.get_mut(&(connection, minute)) {
            Some(n) => *n = n.saturating_add(1),
            None if !full => {
                pending.insert((connection, minute), 1);
            }
            None => {
                if let Some(suppressed) = crate::db::errlog::allow("rejections_full") {
                    tracing::warn!(
                        suppressed,
                        "too many refusal counts waiting for the database; dropping some"
                    );
                }
            }
        }
    }

    fn take(&self) -> Counts {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts counts a failed write could not store back, to be tried again.
    fn put_back(&self, counts: Counts) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, n) in counts {
            if pending.len() < MAX_PENDING || pending.contains_key(&key) {
                let e = pending.entry(key).or_insert(0);
                *e = e.saturating_add(n);
            }
        }
    }

    /// Writes what is pending now; whether it could.
    pub async fn flush(&self, db: &Pool) -> bool {
        let counts = self.take();
        if counts.is_empty() {
            return true;
        }
        let rows: Vec<(Uuid, DateTime<Utc>, i32)> =
            counts.iter().map(|(&(c, m), &n)| (c, m, n)).collect();
        let written = db
            .run(move |c| Ok(health_record::add_counts(c, CounterKind::Rejected, &rows)?))
            .await;
        match written {
            Ok(_) => true,
            Err(e) => {
                if let Some(suppressed) = crate::db::errlog::allow("count_rejected") {
                    tracing::warn!(error = %Chain(&e), suppressed, "could not write refused-delivery counts; keeping them for the next try");
                }
                self.put_back(counts);
                false
            }
        }
    }

    /// Flushes every [`FLUSH_EVERY`] for as long as the process runs.
    pub fn spawn_flusher(self: &Arc<Self>, db: Pool) {
        let me = self.clone();
        actix_rt::spawn(async move {
            let mut tick = actix_rt::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                me.flush(&db).await;
            }
        });
    }
}
