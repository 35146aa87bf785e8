//! Storing a batch of verified deliveries and what follows from it: the
//! rows go into `lever_events` through its one writer
//! ([`crate::db::models::lever_event::insert::insert_deliveries`]: one statement,
//! kept prepared, that also re-checks `other_stage` rows against the stage
//! as committed), then a row promoted to `pending` drops this instance's
//! stale stage cache, and the instances running the woken accounts get a
//! `NOTIFY`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use uuid::Uuid;

pub use crate::db::models::lever_event::insert::OwnedEvent;
use crate::db::models::lever_event::insert::{self as events, Duplicates};
use crate::domain::errors::Chain;
use crate::domain::ids::ConnectionId;
use crate::domain::status::EventStatus;
use crate::wake::LocalAccounts;

/// Inserts `rows` in one statement (skipping any either dedupe identity
/// already holds, within the batch too); returns the ids inserted. Then
/// wakes the other instances owning accounts with new pending work (those
/// running here are woken through the channel by the writer). `guess` says
/// whether to expect duplicates (see [`DuplicateGuess`]).
pub fn insert_batch(
    c: &mut PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
    guess: &DuplicateGuess,
) -> QueryResult<HashSet<Uuid>> {
    // One statement, so no BEGIN/COMMIT round trips: in autocommit it is its
    // own transaction, and its rows come back only after the commit (and
    // its WAL flush) is done.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let stored = match guess.first_try(now_ms) {
        Duplicates::Skip => events::insert_deliveries(c, rows, Duplicates::Skip)?,
        Duplicates::Fail => match events::insert_deliveries(c, rows, Duplicates::Fail) {
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                // It stored nothing: again, skipping the duplicates.
                guess.saw_one(now_ms);
                events::insert_deliveries(c, rows, Duplicates::Skip)?
            }
            other => other?,
        },
    };
    Ok(committed(c, rows, stored, local))
}

/// Inserts one row in its own transaction; whether it was new.
pub fn insert_one(
    c: &mut PgConnection,
    row: &OwnedEvent,
    local: &LocalAccounts,
) -> QueryResult<bool> {
    let rows = std::slice::from_ref(row);
    let stored = events::insert_deliveries(c, rows, Duplicates::Skip)?;
    Ok(committed(c, rows, stored, local).contains(&row.id))
}

/// Whether a batch is likely to hold a row already stored. Most never do,
/// and a batch inserted expecting none ([`Duplicates::Fail`]) costs
/// Postgres about 15 % less than one skipping them; one that does hold a
/// duplicate fails, storing nothing, and is inserted again skipping them.
/// Duplicates come in runs (Lever redelivering after an outage, a replay),
/// so for [`DUPLICATE_MEMORY_MS`] after one, batches skip them from the
/// start rather than paying twice.
#[derive(Debug, Default)]
pub struct DuplicateGuess {
    /// When a batch last held a duplicate (ms since the epoch; 0: never).
    last_seen_ms: AtomicI64,
}

/// How long one duplicate makes batches expect more.
pub const DUPLICATE_MEMORY_MS: i64 = 10_000;

impl DuplicateGuess {
    /// How the next batch, at `now_ms`, is first inserted.
    fn first_try(&self, now_ms: i64) -> Duplicates {
        let last = self.last_seen_ms.load(Ordering::Relaxed);
        if last != 0 && now_ms - last < DUPLICATE_MEMORY_MS {
            Duplicates::Skip
        } else {
            Duplicates::Fail
        }
    }

    fn saw_one(&self, now_ms: i64) {
        self.last_seen_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Whether batches now skip duplicates from the start.
    pub fn expects_duplicates(&self) -> bool {
        self.first_try(chrono::Utc::now().timestamp_millis()) == Duplicates::Skip
    }
}

/// After the commit: drops this instance's stale stage cache for promoted
/// rows and notifies the instances owning accounts with new pending work;
/// the ids inserted.
fn committed(
    c: &mut PgConnection,
    rows: &[OwnedEvent],
    stored: HashMap<Uuid, EventStatus>,
    local: &LocalAccounts,
) -> HashSet<Uuid> {
    let mut woken = HashSet::new();
    for r in rows {
        let Some(status) = stored.get(&r.id) else {
            continue;
        };
        let promoted = r.status != EventStatus::Pending && *status == EventStatus::Pending;
        if promoted {
            // This instance's cached stage was stale (changed elsewhere).
            super::cache::invalidate(ConnectionId(r.connection_id));
        }
        let pending = r.status == EventStatus::Pending;
        if promoted || (pending && !local.contains(&ConnectionId(r.connection_id))) {
            woken.insert(r.connection_id);
        }
    }
    notify(c, &woken);
    stored.into_keys().collect()
}

/// One `NOTIFY` per woken connection, sent after the rows committed (so a
/// woken instance sees them) in a transaction of its own that waits for no
/// disk flush: notifying transactions commit one at a time, and holding
/// that lock across the batch's own flush would serialize the batches. A
/// wake-up lost to a crash here only delays work: the registry also polls.
fn notify(c: &mut PgConnection, woken: &HashSet<Uuid>) {
    if woken.is_empty() {
        return;
    }
    let sent = c.transaction(|c| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(c)?;
        woken
            .iter()
            .try_for_each(|id| crate::db::notify::work_due(c, *id))
    });
    if let Err(e) = sent
        && let Some(suppressed) = crate::db::errlog::allow("ingest_notify")
    {
        tracing::warn!(error = %Chain(&e), suppressed, "could not send wake-ups; the pipeline's polling finds the work");
    }
}
