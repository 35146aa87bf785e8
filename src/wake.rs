//! Wake-ups: after a delivery or a completion is committed, the connection's
//! worker is told to look at the database. The message carries nothing but the
//! connection id, so a lost wake-up only delays work (the pipeline also polls).
//!
//! Within a process the wake-up is a channel message. Across instances the
//! writing transaction also sends `NOTIFY arkiter_work, '<connection id>'`,
//! delivered at commit; every instance listens on a dedicated connection and
//! feeds what it hears into its own channel (its registry ignores accounts it
//! does not own). Webhook ingest, the hot path, skips the `NOTIFY` for
//! accounts whose supervisor runs in this process ([`LocalAccounts`]).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;

use crate::db::notify::CHANNEL;
use crate::domain::ids::ConnectionId;

/// The sending side, shared by every request handler.
#[derive(Debug, Clone)]
pub struct Wake {
    tx: mpsc::UnboundedSender<ConnectionId>,
    local: Arc<LocalAccounts>,
}

/// The accounts whose supervisor runs in this process, kept by the registry.
/// A wake-up for one of them needs no `NOTIFY`: the channel reaches it. Only
/// an optimisation: if the account moves meanwhile, the new owner's polling
/// finds the work, as for any lost wake-up.
#[derive(Debug, Default)]
pub struct LocalAccounts(RwLock<HashSet<ConnectionId>>);

impl LocalAccounts {
    pub fn insert(&self, id: ConnectionId) {
        if let Ok(mut set) = self.0.write() {
            set.insert(id);
        }
    }

    pub fn remove(&self, id: &ConnectionId) {
        if let Ok(mut set) = self.0.write() {
            set.remove(id);
        }
    }

    /// Whether `id` runs here (a poisoned lock answers "no": NOTIFY then).
    pub fn contains(&self, id: &ConnectionId) -> bool {
        self.0.read().is_ok_and(|set| set.contains(id))
    }
}

/// The receiving side, owned by the pipeline's registry.
pub type WakeReceiver = mpsc::UnboundedReceiver<ConnectionId>;

impl Wake {
    pub fn channel() -> (Self, WakeReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let local = Arc::default();
        (Self { tx, local }, rx)
    }

    /// The set the registry keeps of the accounts running here.
    pub fn local(&self) -> Arc<LocalAccounts> {
        self.local.clone()
    }

    /// Tells the pipeline that `connection` has new work. Never blocks.
    pub fn wake(&self, connection: ConnectionId) {
        // A closed receiver means the pipeline is shutting down; the row is
        // committed and will be picked up at the next start.
        let _ = self.tx.send(connection);
    }
}

/// How often the listening connection is checked for notifications.
const LISTEN_POLL: Duration = Duration::from_millis(20);

/// Listens for other instances' wake-ups on a thread of its own, reconnecting
/// after a failure. Ends when the receiving side is gone.
pub fn spawn_listener(database_url: SecretString, wake: Wake) {
    std::thread::spawn(move || {
        while !wake.tx.is_closed() {
            if let Err(e) = listen(&database_url, &wake)
                && let Some(suppressed) = crate::db::errlog::allow("wake_listener")
            {
                tracing::warn!(error = %e, suppressed, "wake-up listener lost its connection; reconnecting");
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

fn listen(database_url: &SecretString, wake: &Wake) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(database_url.expose_secret())?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    while !wake.tx.is_closed() {
        for n in conn.notifications_iter() {
            if let Ok(id) = n?.payload.parse::<uuid::Uuid>() {
                wake.wake(ConnectionId(id));
            }
        }
        std::thread::sleep(LISTEN_POLL);
    }
    Ok(())
}
