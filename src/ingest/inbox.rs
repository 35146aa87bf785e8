//! Group commit for webhook ingest (ARCHITECTURE.md "Ingest at speed").
//!
//! A delivery's row is handed to the [`Inbox`] and its request waits for the
//! answer. A collector takes rows off the queue as they come and, as soon as
//! one of [`LANES`] writers is free, sends everything queued meanwhile (up to
//! [`MAX_BATCH`] rows) as one transaction: a single multi-row `INSERT .. ON
//! CONFLICT DO NOTHING RETURNING id` (then, for accounts running on another
//! instance, a `NOTIFY` each). Each request is answered only after its batch
//! committed, so "committed before the 2xx" holds; under light load a batch
//! is one row and nothing waits. Both dedupe identities are the table's
//! unique indexes, which also absorb duplicates inside one batch (the later
//! copy is skipped). Two lanes measured best on 2 cores (one lane's batch
//! flushes while the other's inserts; four made batches small again).
//!
//! If a batch fails for a reason other than the database being unreachable
//! (a row Postgres refuses, say), its rows are retried one transaction each,
//! so one bad delivery never fails the others. If it fails because its
//! connection was gone (the server restarted or dropped it), the batch is
//! written once more on another connection: the pool has discarded the dead
//! one, and the insert is idempotent, so a batch whose commit did land
//! answers "duplicate" rather than being doubled (issue 16).

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::IngestError;
use super::store::{self, OwnedEvent};
use crate::db::conn::is_connection_lost;
use crate::db::{DbError, Pool};
use crate::wake::LocalAccounts;

/// Batches written at once (each holds one pooled connection while it runs).
pub const LANES: usize = 2;
/// Most rows in one transaction.
pub const MAX_BATCH: usize = 256;

/// Whether a row was new (`true`) or already stored (`false`).
type Answer = Result<bool, IngestError>;

struct Pending {
    row: OwnedEvent,
    reply: oneshot::Sender<Answer>,
}

/// The sending side, shared by every request handler.
#[derive(Clone)]
pub struct Inbox {
    tx: mpsc::UnboundedSender<Pending>,
}

impl Inbox {
    /// Starts the collector on the current actix System, writing through
    /// `pool`; `local` spares the `NOTIFY` for accounts running here.
    pub fn start(pool: Pool, local: Arc<LocalAccounts>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        actix_web::rt::spawn(collect(pool, local, rx));
        Self { tx }
    }

    /// Stores `row` with others queued at the same time; answers once the
    /// transaction holding it committed (or failed).
    pub async fn store(&self, row: OwnedEvent) -> Answer {
        let (reply, answer) = oneshot::channel();
        let stopped = || IngestError::Unavailable(DbError::Task("ingest is stopping".into()));
        self.tx
            .send(Pending { row, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Takes rows off the queue; whenever a lane is free, everything queued
/// (up to [`MAX_BATCH`]) becomes one batch.
async fn collect(pool: Pool, local: Arc<LocalAccounts>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let lanes = Arc::new(Semaphore::new(LANES));
    while let Some(first) = rx.recv().await {
        let Ok(lane) = lanes.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (pool, local) = (pool.clone(), local.clone());
        actix_web::rt::spawn(async move {
            write(&pool, local, batch).await;
            drop(lane);
        });
    }
}

/// Writes one batch and answers each of its requests.
async fn write(pool: &Pool, local: Arc<LocalAccounts>, batch: Vec<Pending>) {
    let (rows, replies): (Vec<OwnedEvent>, Vec<_>) =
        batch.into_iter().map(|p| (p.row, p.reply)).unzip();
    let n = rows.len();
    let rows = Arc::new(rows);
    let mut result = write_on_a_connection(pool, &rows, &local).await;
    if matches!(&result, Err(DbError::Query(e)) if is_connection_lost(e)) {
        result = write_on_a_connection(pool, &rows, &local).await;
    }
    match result {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            let e = IngestError::from(e);
            if let Some(suppressed) = crate::db::errlog::allow("ingest_batch") {
                tracing::warn!(rows = n, error = %e, suppressed, "an ingest batch could not be written");
            }
            for reply in replies {
                let _ = reply.send(Err(copy(&e)));
            }
        }
    }
}

async fn write_on_a_connection(
    pool: &Pool,
    rows: &Arc<Vec<OwnedEvent>>,
    local: &Arc<LocalAccounts>,
) -> Result<Vec<Answer>, DbError> {
    let (rows, local) = (rows.clone(), local.clone());
    pool.run(move |c| write_rows(c, &rows, &local)).await
}

/// One transaction for all rows; one transaction each if that fails for a
/// reason other than the connection. A lost connection is returned as the
/// error, for the caller to try another.
fn write_rows(
    c: &mut diesel::PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
) -> Result<Vec<Answer>, DbError> {
    match store::insert_batch(c, rows, local) {
        Ok(inserted) => Ok(answers(rows, &inserted)),
        Err(e) if is_connection_lost(&e) => Err(DbError::Query(e)),
        Err(e) => Ok(one_by_one(c, rows, local, IngestError::from(e))),
    }
}

/// After a batch failed with `e`: each row in its own transaction, unless
/// the failure was the database's (then every row shares it).
fn one_by_one(
    c: &mut diesel::PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
    e: IngestError,
) -> Vec<Answer> {
    if rows.len() == 1 {
        return vec![Err(e)];
    }
    if matches!(e, IngestError::Unavailable(_)) {
        return rows.iter().map(|_| Err(copy(&e))).collect();
    }
    rows.iter()
        .map(|r| store::insert_one(c, r, local).map_err(IngestError::from))
        .collect()
}

fn answers(rows: &[OwnedEvent], inserted: &HashSet<Uuid>) -> Vec<Answer> {
    rows.iter().map(|r| Ok(inserted.contains(&r.id))).collect()
}

/// The same failure for another request of the batch.
fn copy(e: &IngestError) -> IngestError {
    let cause = DbError::Task(e.to_string());
    match e {
        IngestError::Unavailable(_) => IngestError::Unavailable(cause),
        _ => IngestError::Internal(cause),
    }
}
