//! Group commit for webhook ingest (docs/ARCHITECTURE.md).
//!
//! A delivery's row is handed to the [`Inbox`] and its request waits for the
//! answer. Writer threads of their own take rows off one bounded queue and
//! send each batch as one statement, a multi-row `INSERT .. RETURNING id`
//! (then, for accounts running on another instance, a `NOTIFY` each, and
//! for those running here one wake-up each). Each request is answered only
//! after its batch committed, so "committed before the 2xx" holds. Both
//! dedupe identities are the table's unique indexes, which also absorb
//! duplicates inside one batch (the later copy is skipped; how, in
//! [`store::DuplicateGuess`]).
//!
//! Lanes adapt to the load. The first lane sends everything queued (up to
//! [`MAX_BATCH`] rows) whenever it is free, so batches grow with the load
//! by themselves, and under light load a batch is one row and nothing
//! waits. The other [`LANES`] - 1 lanes spill over: they take rows only
//! once the oldest has waited [`SPILL_AFTER`], that is when the busy lanes
//! are slow (a slow disk's flush, a lock, a restart), so their flushes
//! overlap. While the first lane keeps up, one lane's batches are as large
//! as the load makes them, which costs Postgres less per row than lanes
//! always taking turns (the figures are in docs/BENCHMARKS.md).
//!
//! The writers are plain threads blocking on the queue and on Postgres: a
//! request's row reaches the thread that writes it in one hop, and its
//! answer comes back in one, fewer thread wake-ups per batch than handing
//! batches from an async collector to the blocking pool.
//!
//! The queue is bounded (docs/contract/guarantees.md): past [`MAX_QUEUED`] rows or
//! [`MAX_QUEUED_BYTES`] of bodies, a delivery is refused with 503 at once,
//! which Lever retries. A slow or unreachable database therefore costs
//! memory only up to that bound, and each waiting request gets its 503 when
//! the pool's checkout deadline passes.
//!
//! If a batch fails for a reason other than the database being unreachable
//! (a row Postgres refuses, say), its rows are retried one transaction each,
//! so one bad delivery never fails the others. If it fails because its
//! connection was gone (the server restarted or dropped it), the batch is
//! written once more on another connection: the pool has discarded the dead
//! one, and the insert is idempotent, so a batch whose commit did land
//! answers "duplicate" rather than being doubled.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use uuid::Uuid;

use super::IngestError;
use super::store::{self, OwnedEvent};
use crate::db::conn::{is_connection_lost, is_transient};
use crate::db::{DbError, Pool};
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::status::EventStatus;
use crate::wake::{LocalAccounts, Wake};

/// Most batches written at once: one writer thread each, each holding one
/// pooled connection while it writes (set aside from the pool's async
/// callers: `PoolSettings::ingest` has room for both).
pub const LANES: usize = 4;
/// How long the oldest queued row waits for the first lane before a spare
/// lane takes it: well above a batch's cycle on a healthy database (about a
/// millisecond at full load on 2 cores), well below the 20 ms ack target.
pub const SPILL_AFTER: Duration = Duration::from_millis(2);
/// Most rows in one statement.
pub const MAX_BATCH: usize = 256;
/// Most rows waiting for a writer; one more is refused (503).
pub const MAX_QUEUED: usize = 4 * 1024;
/// Most body bytes waiting for a writer (bodies are up to 64 KiB each).
pub const MAX_QUEUED_BYTES: usize = 32 * 1024 * 1024;

/// Whether a row was new (`true`) or already stored (`false`).
type Answer = Result<bool, IngestError>;

struct Pending {
    row: OwnedEvent,
    reply: oneshot::Sender<Answer>,
    queued_at: Instant,
}

/// What the writers and the request handlers share.
#[derive(Default)]
struct Queue {
    rows: VecDeque<Pending>,
    /// Body bytes of `rows`.
    bytes: usize,
    /// The first lane is waiting for rows (a push wakes it only then).
    first_idle: bool,
    /// Set when the last [`Inbox`] handle goes: writers finish what is
    /// queued, then stop.
    closed: bool,
}

impl Queue {
    /// Up to [`MAX_BATCH`] rows off the front.
    fn take(&mut self) -> Vec<Pending> {
        let n = self.rows.len().min(MAX_BATCH);
        let batch: Vec<Pending> = self.rows.drain(..n).collect();
        self.bytes -= batch.iter().map(|p| p.row.payload.len()).sum::<usize>();
        batch
    }
}

#[derive(Default)]
struct Shared {
    /// Whether batches expect rows already stored, shared by the lanes.
    duplicates: store::DuplicateGuess,
    queue: Mutex<Queue>,
    /// Wakes the first lane.
    ready: Condvar,
    /// Wakes a spare lane: rows arrived while the first lane was busy.
    spill: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panicking holder leaves at worst a row unanswered (its request
        // then sees "stopping"); the queue itself stays consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `p`, or refuses it when the queue is full or closed.
    fn push(&self, p: Pending) -> Result<(), IngestError> {
        let mut q = self.lock();
        let bytes = p.row.payload.len();
        if q.closed {
            return Err(stopping());
        }
        if q.rows.len() >= MAX_QUEUED || q.bytes + bytes > MAX_QUEUED_BYTES {
            let full = DbError::Task("the ingest queue is full".into());
            return Err(IngestError::Unavailable(full));
        }
        let was_empty = q.rows.is_empty();
        q.rows.push_back(p);
        q.bytes += bytes;
        let first_idle = q.first_idle;
        drop(q);
        if first_idle {
            self.ready.notify_one();
        } else if was_empty {
            // The oldest row's clock starts now: one spare lane watches it.
            self.spill.notify_one();
        }
        Ok(())
    }

    /// The first lane's next batch: everything queued, up to
    /// [`MAX_BATCH`] rows, waiting for at least one; `None` once closed and
    /// drained.
    fn next_batch(&self) -> Option<Vec<Pending>> {
        let mut q = self.lock();
        loop {
            if !q.rows.is_empty() {
                return Some(q.take());
            }
            if q.closed {
                return None;
            }
            q.first_idle = true;
            q = self.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            q.first_idle = false;
        }
    }

    /// A spare lane's next batch: what is queued once its oldest row has
    /// waited [`SPILL_AFTER`] (or a full batch is queued, or the queue is
    /// closing); `None` once closed and drained.
    fn next_spill(&self) -> Option<Vec<Pending>> {
        let mut q = self.lock();
        loop {
            let Some(oldest) = q.rows.front() else {
                if q.closed {
                    return None;
                }
                q = self.spill.wait(q).unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let waited = oldest.queued_at.elapsed();
            if waited >= SPILL_AFTER || q.rows.len() >= MAX_BATCH || q.closed {
                return Some(q.take());
            }
            q = self
                .spill
                .wait_timeout(q, SPILL_AFTER - waited)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
        self.spill.notify_all();
    }
}

/// Closes the queue when the last handle is dropped.
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The sending side, shared by every request handler.
#[derive(Clone)]
pub struct Inbox {
    shared: Arc<Shared>,
    _closer: Arc<Closer>,
}

impl Inbox {
    /// Starts the writer threads, writing through `pool`; each batch wakes
    /// the accounts it gave new pending work, once each (through `wake`,
    /// which spares the `NOTIFY` for accounts running here).
    pub fn start(pool: Pool, wake: Wake) -> std::io::Result<Self> {
        pool.reserve_for_threads(LANES);
        let shared = Arc::new(Shared::default());
        for lane in 0..LANES {
            let (shared, pool, wake) = (shared.clone(), pool.clone(), wake.clone());
            std::thread::Builder::new()
                .name(format!("ingest-writer-{lane}"))
                .spawn(move || {
                    let next = || match lane {
                        0 => shared.next_batch(),
                        _ => shared.next_spill(),
                    };
                    while let Some(batch) = next() {
                        write(&pool, &wake, &shared.duplicates, batch);
                    }
                })?;
        }
        Ok(Self {
            _closer: Arc::new(Closer(shared.clone())),
            shared,
        })
    }

    /// Stores `row` with others queued at the same time; answers once the
    /// statement holding it committed (or failed), or at once with 503 when
    /// the queue is full.
    pub async fn store(&self, row: OwnedEvent) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.shared.push(Pending {
            row,
            reply,
            queued_at: Instant::now(),
        })?;
        answer.await.map_err(|_| stopping())?
    }
}

fn stopping() -> IngestError {
    IngestError::Unavailable(DbError::Task("ingest is stopping".into()))
}

/// Writes one batch (on the calling writer thread), wakes the accounts
/// running here that it gave new pending work, and answers each request.
fn write(pool: &Pool, wake: &Wake, guess: &store::DuplicateGuess, batch: Vec<Pending>) {
    let (rows, replies): (Vec<OwnedEvent>, Vec<_>) =
        batch.into_iter().map(|p| (p.row, p.reply)).unzip();
    let local = wake.local();
    let mut result = pool.run_here(|c| write_rows(c, &rows, &local, guess));
    if matches!(&result, Err(DbError::Query(e)) if is_connection_lost(e)) {
        result = pool.run_here(|c| write_rows(c, &rows, &local, guess));
    }
    match result {
        Ok(answers) => {
            wake_pending(wake, &rows, &answers);
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            let e = IngestError::from(e);
            if let Some(suppressed) = crate::db::errlog::allow("ingest_batch") {
                tracing::warn!(rows = rows.len(), error = %Chain(&e), suppressed, "an ingest batch could not be written");
            }
            for reply in replies {
                let _ = reply.send(Err(copy(&e)));
            }
        }
    }
}

/// One transaction for all rows. When that fails on the rows' data (a
/// row the table refuses), one transaction each, so that one bad row does
/// not cost the others their write. When it fails on the database's state
/// (a lost connection, a lock or statement timeout: `is_transient`), every
/// row shares the error, answered 503 for Lever to retry: trying the rows
/// one by one would only wait the same way for each.
fn write_rows(
    c: &mut diesel::PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
    guess: &store::DuplicateGuess,
) -> Result<Vec<Answer>, DbError> {
    match store::insert_batch(c, rows, local, guess) {
        Ok(inserted) => Ok(answers(rows, &inserted)),
        Err(e) if is_transient(&e) => Err(DbError::Query(e)),
        Err(e) if rows.len() == 1 => Ok(vec![Err(IngestError::from(e))]),
        Err(_) => Ok(one_by_one(c, rows, local)),
    }
}

/// After a batch failed on its data: each row in its own transaction.
fn one_by_one(
    c: &mut diesel::PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
) -> Vec<Answer> {
    super::metrics::row_by_row();
    rows.iter()
        .map(|r| store::insert_one(c, r, local).map_err(IngestError::from))
        .collect()
}

/// One wake-up per account with newly stored `pending` rows, after their
/// commit and before the answers, rather than one per delivery: at full load
/// that was tens of thousands of messages a second to the pipeline's
/// registry, all but the first of each batch saying the same. (Accounts
/// running elsewhere got their `NOTIFY` with the insert.)
fn wake_pending(wake: &Wake, rows: &[OwnedEvent], answers: &[Answer]) {
    let mut woken = HashSet::new();
    for (row, answer) in rows.iter().zip(answers) {
        if row.status == EventStatus::Pending
            && matches!(answer, Ok(true))
            && woken.insert(row.connection_id)
        {
            wake.wake(ConnectionId(row.connection_id));
        }
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pending(body_len: usize) -> Pending {
        let row = OwnedEvent {
            id: Uuid::now_v7(),
            connection_id: Uuid::nil(),
            org_id: Uuid::nil(),
            event: "candidateStageChange".into(),
            token: "t".into(),
            triggered_at: 0,
            opportunity_id: None,
            to_stage_id: None,
            from_stage_id: None,
            payload: "x".repeat(body_len),
            status: EventStatus::Pending,
            reason: None,
            trace_parent: None,
        };
        Pending {
            row,
            reply: oneshot::channel().0,
            queued_at: Instant::now(),
        }
    }

    /// The first lane takes what is queued at once; a spare lane leaves
    /// rows to it until the oldest has waited [`SPILL_AFTER`], or at once
    /// when the queue is closing.
    #[test]
    fn spare_lanes_take_only_rows_that_waited() {
        let shared = Shared::default();
        shared.push(pending(1)).unwrap();
        assert_eq!(shared.next_batch().unwrap().len(), 1);
        shared.push(pending(1)).unwrap();
        shared.push(pending(1)).unwrap();
        let batch = shared.next_spill().unwrap();
        assert_eq!(batch.len(), 2);
        assert!(
            batch[0].queued_at.elapsed() >= SPILL_AFTER,
            "a spare lane took a row after {:?}",
            batch[0].queued_at.elapsed()
        );
        // A row that would never count as waited: only closing hands it out.
        let mut young = pending(1);
        young.queued_at = Instant::now() + Duration::from_secs(3600);
        shared.push(young).unwrap();
        let shared = Arc::new(shared);
        let (tx, rx) = std::sync::mpsc::channel();
        let spare = shared.clone();
        std::thread::spawn(move || {
            let _ = tx.send(spare.next_spill().map(|b| b.len()));
            let _ = tx.send(spare.next_spill().map(|b| b.len()));
        });
        shared.close();
        let wait = Duration::from_secs(10);
        assert_eq!(rx.recv_timeout(wait).unwrap(), Some(1));
        assert_eq!(rx.recv_timeout(wait).unwrap(), None);
        assert!(shared.next_batch().is_none());
    }

    /// With no writer taking rows, the queue takes [`MAX_QUEUED`] rows (or
    /// [`MAX_QUEUED_BYTES`] of bodies) and refuses the next one with
    /// "unavailable" (503); once drained it takes rows again.
    #[test]
    fn the_queue_is_bounded_by_rows_and_bytes() {
        let shared = Shared::default();
        for _ in 0..MAX_QUEUED {
            shared.push(pending(10)).unwrap();
        }
        let full = shared.push(pending(10)).unwrap_err();
        assert!(matches!(full, IngestError::Unavailable(_)), "{full}");
        let mut taken = 0;
        while taken < MAX_QUEUED {
            let batch = shared.next_batch().unwrap();
            assert!(batch.len() <= MAX_BATCH);
            taken += batch.len();
        }
        assert_eq!(shared.lock().bytes, 0);
        let big = 64 * 1024;
        for _ in 0..MAX_QUEUED_BYTES / big {
            shared.push(pending(big)).unwrap();
        }
        assert!(shared.push(pending(big)).is_err());
        shared.close();
        assert!(matches!(
            shared.push(pending(1)),
            Err(IngestError::Unavailable(_))
        ));
        // Closed: what was queued is still handed out, then nothing.
        while shared.next_batch().is_some() {}
        assert_eq!(shared.lock().rows.len(), 0);
    }
}
