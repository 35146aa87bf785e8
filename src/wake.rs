//! Wake-ups: after a delivery or a completion is committed, the connection's
//! worker is told to look at the database. The message carries nothing but the
//! connection id, so a lost wake-up only delays work (the pipeline also polls).

use tokio::sync::mpsc;

use crate::domain::ids::ConnectionId;

/// The sending side, shared by every request handler.
#[derive(Debug, Clone)]
pub struct Wake {
    tx: mpsc::UnboundedSender<ConnectionId>,
}

/// The receiving side, owned by the pipeline's registry.
pub type WakeReceiver = mpsc::UnboundedReceiver<ConnectionId>;

impl Wake {
    pub fn channel() -> (Self, WakeReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    /// Tells the pipeline that `connection` has new work. Never blocks.
    pub fn wake(&self, connection: ConnectionId) {
        // A closed receiver means the pipeline is shutting down; the row is
        // committed and will be picked up at the next start.
        let _ = self.tx.send(connection);
    }
}
