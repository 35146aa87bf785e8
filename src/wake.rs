//! Wake-ups: after a delivery or a completion is committed, the connection's
//! worker is told to look at the database. The message carries nothing but the
//! connection id, so a lost wake-up only delays work (the pipeline also polls).
//!
//! Within a process the wake-up is a channel message. Across instances the
//! writing transaction also sends `NOTIFY arkiter_work, '<connection id>'`,
//! delivered at commit; every instance listens on a dedicated connection (an
//! async client, `tokio-postgres`, so a notification is handed on as it
//! arrives rather than found by polling) and feeds what it hears into its
//! own channel (its registry ignores accounts it does not own). Webhook ingest, the hot path, skips the `NOTIFY` for
//! accounts whose supervisor runs in this process ([`LocalAccounts`]).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use crate::db::notify::{CHANGED_CONNECTION_CHANNEL, CHANNEL, NEW_CONNECTION_CHANNEL};
use crate::domain::ids::ConnectionId;
use crate::roster::Roster;

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

/// What a changed connection's announcement is handed to: `Some(id)` for
/// one connection, `None` for all of them (announcements may have been
/// missed while the listener was reconnecting).
pub type OnChange = fn(Option<ConnectionId>);

/// Listens for other instances' wake-ups, for new connections (added to
/// `roster`) and for changed ones (handed to `on_change`), on a thread of
/// its own (with a one-thread runtime, so a busy service runtime never
/// delays them), reconnecting a second after a failure. Ends when the
/// receiving side is gone. A notification is handed on the moment the
/// server sends it.
pub fn spawn_listener(
    database_url: SecretString,
    wake: Wake,
    roster: Arc<Roster>,
    on_change: OnChange,
) {
    let started = std::thread::Builder::new()
        .name("wake-listener".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = ?e, "wake-up listener cannot start; work is found by polling only");
                    return;
                }
            };
            runtime.block_on(listen_forever(database_url, wake, roster, on_change));
        });
    if let Err(e) = started {
        tracing::error!(error = ?e, "wake-up listener cannot start; work is found by polling only");
    }
}

async fn listen_forever(
    database_url: SecretString,
    wake: Wake,
    roster: Arc<Roster>,
    on_change: OnChange,
) {
    while !wake.tx.is_closed() {
        if let Err(e) = listen(&database_url, &wake, &roster, on_change).await
            && let Some(suppressed) = crate::db::errlog::allow("wake_listener")
        {
            tracing::warn!(error = ?e, suppressed, "wake-up listener lost its connection; reconnecting");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = wake.tx.closed() => {}
        }
    }
}

/// Which channel a notification came on.
#[derive(Debug, Clone, Copy)]
enum Heard {
    Work,
    NewConnection,
    ChangedConnection,
}

/// One listening connection, until it fails or the receiver is gone.
async fn listen(
    database_url: &SecretString,
    wake: &Wake,
    roster: &Roster,
    on_change: OnChange,
) -> anyhow::Result<()> {
    let (client, mut connection) =
        tokio_postgres::connect(database_url.expose_secret(), tokio_postgres::NoTls).await?;
    // The connection is driven by its own task, which hands notifications over.
    let (heard, mut payloads) = mpsc::unbounded_channel::<(Heard, String)>();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message? {
                let channel = match n.channel() {
                    NEW_CONNECTION_CHANNEL => Heard::NewConnection,
                    CHANGED_CONNECTION_CHANNEL => Heard::ChangedConnection,
                    _ => Heard::Work,
                };
                if heard.send((channel, n.payload().to_owned())).is_err() {
                    break;
                }
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    client
        .batch_execute(&format!(
            "LISTEN {CHANNEL}; LISTEN {NEW_CONNECTION_CHANNEL}; LISTEN {CHANGED_CONNECTION_CHANNEL}"
        ))
        .await?;
    // Connections created, and changes made, while nobody listened.
    roster.reload_soon();
    on_change(None);
    loop {
        tokio::select! {
            payload = payloads.recv() => match payload {
                Some((channel, p)) => {
                    if let Ok(id) = p.parse::<uuid::Uuid>() {
                        match channel {
                            Heard::Work => wake.wake(ConnectionId(id)),
                            Heard::NewConnection => roster.add(id),
                            Heard::ChangedConnection => on_change(Some(ConnectionId(id))),
                        }
                    }
                }
                None => break,
            },
            _ = wake.tx.closed() => return Ok(()),
        }
    }
    driver.await??;
    anyhow::bail!("the listening connection was closed")
}
