//! A small in-process cache of what verifying a delivery needs: a
//! connection's decrypted signature tokens, stage, org and status.
//!
//! Why: opening every sealed token on every delivery (and reading them) would
//! cost a database round trip and AES work per request, at thousands of
//! deliveries a second. A change to what is cached (a connection's status,
//! stage or webhooks) is announced by Postgres triggers to every instance
//! at commit, and the `wake` listener hands it to [`forget`]; the writer's
//! own instance also calls [`invalidate`] at once. [`TTL`] only bounds how
//! old a copy can be should an announcement be lost (the listener forgets
//! everything when it reconnects, for what it may have missed meanwhile).
//! A long lifetime matters under a flood of forged requests at a real
//! connection: each re-read is a database round trip they caused.
//! Unknown connections are not cached: random ids would only churn it (the
//! roster refuses them before this cache is asked).
//!
//! An expired entry is read again by one request only: the others that
//! arrive meanwhile keep using it (for at most [`STALE_FOR`]). Without that,
//! every request in flight when an entry expired read the database at once:
//! a flood of forged requests at one real connection cost dozens of reads
//! every 2 s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use uuid::Uuid;

use crate::db::models::lever_webhook::{self, IngestConnection};
use crate::db::{DbError, Pool};
use crate::domain::errors::Chain;
use crate::domain::ids::{ConnectionId, OrgId};
use crate::domain::secrets::SecretBox;

/// How long an entry is trusted without re-reading the database (changes
/// are announced; this is the fallback).
pub const TTL: Duration = Duration::from_secs(60);
/// Up to what age (30 s past [`TTL`]) an expired entry may still serve
/// while one request reads it again (a read that keeps failing ends it).
const STALE_FOR: Duration = Duration::from_secs(90);
/// Above this many entries, expired ones are swept (and, if that is not
/// enough, everything is dropped) before inserting.
const MAX_ENTRIES: usize = 20_000;
/// `last_received_at` is written at most this often per connection.
const TOUCH_EVERY_MS: i64 = 1_000;

/// What ingest knows about one connection. `Debug` omits the tokens.
pub struct ConnectionKeys {
    pub connection_id: ConnectionId,
    pub org_id: OrgId,
    pub status: crate::domain::status::ConnectionStatus,
    /// The trigger stages' ids; empty while setup has found none.
    pub stage_ids: Vec<String>,
    /// `on_stage_exit` is `close`: moves out of the stage are worked.
    pub close_on_exit: bool,
    pub tokens: Vec<SecretString>,
    last_touch_ms: AtomicI64,
}

impl std::fmt::Debug for ConnectionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionKeys")
            .field("connection_id", &self.connection_id)
            .field("status", &self.status)
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl ConnectionKeys {
    fn open(row: IngestConnection, sealed: &[Vec<u8>], secrets: &SecretBox) -> Self {
        let tokens = sealed
            .iter()
            .filter_map(|s| match secrets.open(s) {
                Ok(t) => Some(SecretString::from(t)),
                Err(e) => {
                    // Never log the value; the connection id is enough to act on.
                    tracing::warn!(connection_id = %row.id, error = %Chain(&e), "skipping a webhook signature token");
                    None
                }
            })
            .collect();
        Self {
            connection_id: ConnectionId(row.id),
            org_id: OrgId(row.org_id),
            status: row.status,
            stage_ids: row.trigger_stage_ids(),
            close_on_exit: row.on_stage_exit == crate::domain::status::LifecyclePolicy::Close,
            tokens,
            last_touch_ms: AtomicI64::new(0),
        }
    }

    /// Whether this delivery should refresh `last_received_at`: at most once
    /// per second per connection, so a burst costs one health write.
    pub fn should_touch(&self, now_ms: i64) -> bool {
        let last = self.last_touch_ms.load(Ordering::Relaxed);
        now_ms - last >= TOUCH_EVERY_MS
            && self
                .last_touch_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

struct Entry {
    loaded: Instant,
    keys: Arc<ConnectionKeys>,
    /// A request is reading the entry again.
    refreshing: Arc<std::sync::atomic::AtomicBool>,
}

/// What the cache has for an id.
enum Cached {
    Fresh(Arc<ConnectionKeys>),
    /// Expired, and another request is reading it again: use these.
    Stale(Arc<ConnectionKeys>),
    /// Absent, or expired and this caller is to read it again.
    Load,
}

struct Cache {
    map: Mutex<HashMap<Uuid, Entry>>,
    /// Per connection being read, the lock its readers queue on.
    gates: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    /// Bumped by every invalidation, so a load that raced one is not cached.
    epoch: AtomicU64,
}

static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache {
    map: Mutex::new(HashMap::new()),
    gates: Mutex::new(HashMap::new()),
    epoch: AtomicU64::new(0),
});

impl Cache {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Entry>> {
        // The map holds no invariant a panicking holder could break.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, id: Uuid) -> Cached {
        let map = self.lock();
        let Some(e) = map.get(&id) else {
            return Cached::Load;
        };
        let age = e.loaded.elapsed();
        if age < TTL {
            return Cached::Fresh(e.keys.clone());
        }
        let first = !e.refreshing.swap(true, Ordering::AcqRel);
        if first || age >= STALE_FOR {
            Cached::Load
        } else {
            Cached::Stale(e.keys.clone())
        }
    }

    /// The lock that readers of `id` queue on.
    fn gate(&self, id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        gates.entry(id).or_default().clone()
    }

    /// Drops `id`'s lock once no reader holds or waits for it (the map only
    /// holds connections being read).
    fn ungate(&self, id: Uuid, gate: Arc<tokio::sync::Mutex<()>>) {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's copy, the caller's and this one.
        if Arc::strong_count(&gate) <= 3 {
            gates.remove(&id);
        }
    }

    /// A read meant to refresh `id` failed: let the next request try.
    fn refresh_failed(&self, id: Uuid) {
        if let Some(e) = self.lock().get(&id) {
            e.refreshing.store(false, Ordering::Release);
        }
    }

    fn insert(&self, id: Uuid, keys: Arc<ConnectionKeys>, epoch: u64) {
        let mut map = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.loaded.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            id,
            Entry {
                loaded: Instant::now(),
                keys,
                refreshing: Arc::default(),
            },
        );
    }
}

/// Forgets what is cached for `connection`. Call after changing its webhooks
/// (signature tokens), stage or status; cheap, never blocks on I/O.
pub fn invalidate(connection: ConnectionId) {
    let cache = &*CACHE;
    let mut map = cache.lock();
    cache.epoch.fetch_add(1, Ordering::AcqRel);
    map.remove(&connection.0);
}

/// What the `wake` listener hands a changed connection's announcement to:
/// forgets `Some` connection, or every connection for `None`.
pub fn forget(which: Option<ConnectionId>) {
    match which {
        Some(id) => invalidate(id),
        None => {
            let cache = &*CACHE;
            let mut map = cache.lock();
            cache.epoch.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }
}

/// The connection's keys, from the cache or loaded through `pool`;
/// `None` when no such connection exists.
pub async fn lookup(
    pool: &Pool,
    secrets: &SecretBox,
    id: Uuid,
) -> Result<Option<Arc<ConnectionKeys>>, DbError> {
    match CACHE.get(id) {
        Cached::Fresh(keys) | Cached::Stale(keys) => return Ok(Some(keys)),
        Cached::Load => {}
    }
    // One read per connection at a time: requests that find nothing to
    // serve wait for the read under way, then take what it cached.
    let gate = CACHE.gate(id);
    let _reading = gate.lock().await;
    if let Cached::Fresh(keys) = CACHE.get(id) {
        CACHE.ungate(id, gate.clone());
        return Ok(Some(keys));
    }
    let result = read(pool, secrets, id).await;
    CACHE.ungate(id, gate.clone());
    result
}

async fn read(
    pool: &Pool,
    secrets: &SecretBox,
    id: Uuid,
) -> Result<Option<Arc<ConnectionKeys>>, DbError> {
    let epoch = CACHE.epoch.load(Ordering::Acquire);
    super::metrics::key_read();
    let read = pool
        .run(move |conn| Ok(lever_webhook::ingest_view(conn, id)?))
        .await
        .inspect_err(|_| CACHE.refresh_failed(id))?;
    let Some((row, sealed)) = read else {
        // Deleted meanwhile: nothing stale may serve it any longer.
        invalidate(ConnectionId(id));
        return Ok(None);
    };
    let keys = Arc::new(ConnectionKeys::open(row, &sealed, secrets));
    CACHE.insert(id, keys.clone(), epoch);
    Ok(Some(keys))
}
