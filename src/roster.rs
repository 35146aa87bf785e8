//! The id of every connection, held in memory by each instance, so that a
//! delivery to an id that names no connection is refused (404) without a
//! database round trip (docs/contract/webhooks.md, "Refusals cost nothing").
//! About 16 bytes an id plus the set's overhead: some 160 KB at 10,000
//! connections.
//!
//! Kept current three ways: loaded at start and again every
//! [`RELOAD_EVERY`] (and at once whenever the cross-instance listener
//! reconnects, since it may have missed notifications); the instance that
//! creates a connection adds it at once ([`Roster::add`]); the others hear of
//! it through the `arkiter_connections` notification that the `connections`
//! table's insert trigger sends (the `wake` listener hands it over), within
//! milliseconds. A delivery that arrives earlier still gets 404, which Lever
//! retries. Until the first load succeeds nothing is refused from memory:
//! ingest looks the id up as before.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use uuid::Uuid;

use crate::db::Pool;
use crate::db::models::connection::Connection;
use crate::domain::errors::Chain;

/// How often the whole set is read again (connections deleted meanwhile
/// drop out; one missed notification is repaired).
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);
/// A reload's snapshot may predate an id added meanwhile: ids added this
/// recently survive a reload that does not list them.
const KEEP_ADDED_FOR: Duration = Duration::from_secs(120);
/// A failed load is tried again this soon.
const RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Known {
    ids: HashSet<Uuid>,
    /// Ids added since recent reloads, with when.
    added: HashMap<Uuid, Instant>,
    loaded: bool,
}

/// The set, shared by the webhook route, the listener and the reloader.
#[derive(Default)]
pub struct Roster {
    known: RwLock<Known>,
    reload: Notify,
}

impl std::fmt::Debug for Roster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roster").finish_non_exhaustive()
    }
}

impl Roster {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Whether `id` names a connection: `None` until the set is first
    /// loaded (the caller then asks the database).
    pub fn knows(&self, id: Uuid) -> Option<bool> {
        let k = self.known.read().unwrap_or_else(PoisonError::into_inner);
        k.loaded.then(|| k.ids.contains(&id))
    }

    /// A connection was just created (here, or elsewhere and notified).
    pub fn add(&self, id: Uuid) {
        let mut k = self.known.write().unwrap_or_else(PoisonError::into_inner);
        k.ids.insert(id);
        k.added.insert(id, Instant::now());
    }

    /// Asks the reloader for a reload now (the listener reconnected).
    pub fn reload_soon(&self) {
        self.reload.notify_one();
    }

    /// Replaces the set with `ids` read from the database, keeping ids
    /// added too recently for the read to have seen them.
    fn replace(&self, ids: Vec<Uuid>) {
        let mut k = self.known.write().unwrap_or_else(PoisonError::into_inner);
        k.added.retain(|_, at| at.elapsed() < KEEP_ADDED_FOR);
        let mut next: HashSet<Uuid> = ids.into_iter().collect();
        next.extend(k.added.keys().copied());
        k.ids = next;
        k.loaded = true;
    }

    /// Loads the set now and keeps it current for as long as the process
    /// runs (reads through `db`).
    pub fn spawn_reloader(self: &Arc<Self>, db: Pool) {
        let roster = self.clone();
        actix_rt::spawn(async move {
            loop {
                let wait = match db.run(|c| Ok(Connection::all_ids(c)?)).await {
                    Ok(ids) => {
                        roster.replace(ids);
                        RELOAD_EVERY
                    }
                    Err(e) => {
                        if let Some(suppressed) = crate::db::errlog::allow("roster_reload") {
                            tracing::warn!(error = %Chain(&e), suppressed, "could not read the connection ids; trying again shortly");
                        }
                        RETRY_AFTER
                    }
                };
                tokio::select! {
                    _ = actix_rt::time::sleep(wait) => {}
                    _ = roster.reload.notified() => {}
                }
            }
        });
    }
}
