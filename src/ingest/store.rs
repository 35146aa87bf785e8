//! Storing a batch of verified deliveries and what follows from it: the
//! rows go into `lever_events` through its one writer
//! ([`crate::pipeline::store::events::insert_deliveries`]: one statement,
//! kept prepared, that also re-checks `other_stage` rows against the stage
//! as committed), then a row promoted to `pending` drops this instance's
//! stale stage cache, and the instances running the woken accounts get a
//! `NOTIFY`.

use std::collections::HashSet;

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::lever_event::EventStatus;
use crate::domain::ids::ConnectionId;
use crate::pipeline::store::events;
pub use crate::pipeline::store::events::OwnedEvent;
use crate::wake::LocalAccounts;

/// Inserts `rows` in one statement (skipping any either dedupe identity
/// already holds, within the batch too); returns the ids inserted. Then
/// wakes the other instances owning accounts with new pending work (those
/// running here are woken through the channel by the request).
pub fn insert_batch(
    c: &mut PgConnection,
    rows: &[OwnedEvent],
    local: &LocalAccounts,
) -> QueryResult<HashSet<Uuid>> {
    // One statement, so no BEGIN/COMMIT round trips: in autocommit it is its
    // own transaction, and its rows come back only after the commit (and
    // its WAL flush) is done.
    let stored = events::insert_deliveries(c, rows)?;
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
    Ok(stored.into_keys().collect())
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
        woken.iter().try_for_each(|id| crate::wake::notify(c, *id))
    });
    if let Err(e) = sent
        && let Some(suppressed) = crate::db::errlog::allow("ingest_notify")
    {
        tracing::warn!(error = %e, suppressed, "could not send wake-ups; the pipeline's polling finds the work");
    }
}

/// Inserts one row in its own transaction; whether it was new.
pub fn insert_one(
    c: &mut PgConnection,
    row: &OwnedEvent,
    local: &LocalAccounts,
) -> QueryResult<bool> {
    Ok(insert_batch(c, std::slice::from_ref(row), local)?.contains(&row.id))
}
