//! Per-candidate Lever call records (docs/contract/timeline.md): every HTTP
//! attempt a unit of work makes for its candidate is handed to the process's
//! [`CallRecords`], which stores them in batches of up to [`MAX_BATCH`],
//! one insert every [`FLUSH_EVERY`] at most, so a unit pays a channel send
//! per attempt and no database write of its own.
//!
//! Records are observability, not work: when the buffer is full (the
//! database is far behind) new ones are dropped and counted, and the last
//! fraction of a second of records may be lost when the process stops.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::Pool;
use crate::db::models::lever_call::{self, NewCall};
use crate::domain::errors::Chain;
use crate::lever::{AttemptRecord, AttemptRecorder};

/// How long records wait to be written with others.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// The most records one insert writes.
pub const MAX_BATCH: usize = 1000;
/// Records held in memory at most, waiting for the database.
const BUFFER: usize = 50_000;

/// The process's sink of call records; cheap to clone.
#[derive(Clone)]
pub struct CallRecords {
    tx: mpsc::Sender<NewCall>,
}

impl CallRecords {
    /// Starts the task that writes the records through `db`.
    pub fn start(db: Pool) -> Self {
        let (tx, rx) = mpsc::channel(BUFFER);
        actix_rt::spawn(write_batches(db, rx));
        Self { tx }
    }

    /// A recorder for one unit's client: the attempts it makes for the
    /// candidate named by `candidate_key` (its keyed hash).
    pub fn recorder(
        &self,
        connection_id: Uuid,
        candidate_key: String,
        unit_id: Uuid,
    ) -> AttemptRecorder {
        let tx = self.tx.clone();
        Arc::new(move |a: &AttemptRecord| {
            let call = NewCall {
                connection_id,
                candidate_key: candidate_key.clone(),
                unit_id,
                route: a.route.clone(),
                status: a.status.map(|s| i16::try_from(s).unwrap_or(i16::MAX)),
                duration_ms: i32::try_from(a.elapsed.as_millis()).unwrap_or(i32::MAX),
                attempt: i16::try_from(a.attempt).unwrap_or(i16::MAX),
                sent_at: DateTime::<Utc>::from(a.sent_at),
            };
            if tx.try_send(call).is_err() {
                super::metrics::call_records("dropped", 1);
            }
        })
    }
}

/// Waits for a record, gathers what else comes within [`FLUSH_EVERY`] (up
/// to [`MAX_BATCH`]), writes them in one statement; until every sender is
/// gone.
async fn write_batches(db: Pool, mut rx: mpsc::Receiver<NewCall>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let window = actix_rt::time::sleep(FLUSH_EVERY);
        tokio::pin!(window);
        while batch.len() < MAX_BATCH {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(call) => batch.push(call),
                    None => break,
                },
                _ = &mut window => break,
            }
        }
        let n = batch.len();
        match db
            .run(move |c| Ok(lever_call::insert_batch(c, &batch)?))
            .await
        {
            // Those of candidates erased meanwhile are not written.
            Ok(written) => super::metrics::call_records("written", written),
            Err(e) => {
                super::metrics::call_records("failed", n);
                tracing::warn!(error = %Chain(&e), records = n, "writing Lever call records failed; they are lost");
            }
        }
    }
}
