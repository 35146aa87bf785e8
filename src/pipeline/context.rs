//! What a worker needs for one account: its Lever client (through the
//! connection's handle, so its limiter and token store), the database, the
//! public link bases, and the connection's settings as stored now.

use std::sync::Arc;

use crate::connections::ConnectionHandle;
use crate::db::Pool;
use crate::db::models::connection::Connection;
use crate::domain::ids::ConnectionId;
use crate::domain::status::ConnectionStatus;
use crate::lease::LeaseCell;
use crate::lever::LeverClient;

use super::outcome::{Outcome, StepError};
use crate::db::models::interview::Interview;

/// Shared by the account's workers; cheap to clone.
#[derive(Clone)]
pub struct AccountCtx {
    pub id: ConnectionId,
    /// The lease this account is worked under: fences writes.
    pub lease: Arc<LeaseCell>,
    pub db: Pool,
    pub handle: Arc<ConnectionHandle>,
    pub live_base: String,
    pub results_base: String,
    /// `ARKITER_PUBLIC_URL`: where Lever delivers (the sweep's webhook check).
    pub public_url: String,
    /// Seals a repaired webhook's signature token.
    pub secrets: crate::domain::secrets::SecretBox,
    /// `ARKITER_SWEEP_INTERVAL` (`None`: no periodic sweep).
    pub sweep_interval: Option<std::time::Duration>,
}

/// The connection's settings for one unit of work.
pub struct Work {
    pub client: LeverClient,
    pub conn: Connection,
}

impl Work {
    /// The pause every unit takes while the connection is not `active`:
    /// nothing is written to Lever, and no attempt is used up.
    pub fn paused(&self) -> Option<Outcome> {
        let status = self.conn.status;
        (status != ConnectionStatus::Active).then(|| Outcome::AccountPaused {
            error: format!("the connection is {status}"),
            reauth: status == ConnectionStatus::NeedsReauth,
        })
    }
}

/// A unit's attempt as the supervisor stores it: its outcome, or the
/// outcome its error stands for.
pub fn settled(attempt: Result<Outcome, StepError>) -> Outcome {
    attempt.unwrap_or_else(Outcome::from)
}

impl AccountCtx {
    /// Loads the connection and builds a client with its `perform_as`,
    /// whose every write send is fenced by the lease. The row read here also
    /// tells the handle whether another instance changed the connection
    /// (reconnected, refreshed its token) since its caches were filled.
    pub async fn begin(&self) -> Result<Work, StepError> {
        let id = self.id.0;
        let conn = self.db.run(move |c| Ok(Connection::find(c, id)?)).await?;
        self.handle.observe(&conn);
        let lease = self.lease.clone();
        let client = self
            .handle
            .client(conn.perform_as.clone())
            .with_fence(Arc::new(move || lease.writable()));
        Ok(Work { client, conn })
    }

    /// Runs a worker's database write in a transaction that first checks the
    /// lease is still ours at our epoch (fencing): after a takeover, a paused
    /// or partitioned instance's late writes are refused.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StepError>
    where
        T: Send + 'static,
        F: FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
    {
        let (id, owner, epoch) = (self.id.0, self.lease.owner().to_owned(), self.lease.epoch());
        self.db
            .transaction(move |c| {
                if !crate::db::models::lease::still_held(c, id, &owner, epoch)? {
                    return Err(StepError::Fenced);
                }
                Ok(f(c)?)
            })
            .await
    }

    /// A Lever write may start only while the lease is safely ours.
    pub fn may_write(&self) -> Result<(), StepError> {
        if self.lease.writable() {
            Ok(())
        } else {
            Err(StepError::Fenced)
        }
    }

    /// The interview's live link: as posted, else as the settings build it.
    pub fn live_url(&self, iv: &Interview) -> String {
        iv.live_url
            .clone()
            .unwrap_or_else(|| format!("{}/{}", self.live_base, iv.live_token))
    }

    /// The interview's results link: as posted, else as the settings build it.
    pub fn results_url(&self, iv: &Interview) -> String {
        iv.results_url
            .clone()
            .unwrap_or_else(|| format!("{}/{}", self.results_base, iv.results_token))
    }
}
