//! What a worker needs for one account: its Lever client (through the
//! connection's handle, so its limiter and token store), the database, the
//! lease it works under, the public link bases, and the connection's
//! settings as stored now.
//!
//! Every unit of work runs under its candidate's claim (`db::models::claim`).
//! The client a unit gets writes only while that claim, in the database,
//! covers the longest time the write may take to land
//! (`lever::write_lands_within`): if the lease or the claim moved on, or the
//! lease is about to end by this instance's clock, nothing is sent.
//!
//! Each extension reaches [`EXTENSION_SLACK`] further than that, so writes
//! sent within the slack of an extension need no round trip of their own: a
//! link step's two writes, or a completion's five, usually cost one. The
//! claim is not extended before the first write: a unit stopped before it
//! writes (its lease lost, its account paused) keeps a claim that runs out
//! with the lease, not after the longest landing time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::connections::ConnectionHandle;
use crate::db::Pool;
use crate::db::models::claim::{self, LeaseRef};
use crate::db::models::connection::Connection;
use crate::domain::ids::ConnectionId;
use crate::domain::status::ConnectionStatus;
use crate::lease::LeaseCell;
use crate::lever::LeverClient;

use super::outcome::{Outcome, StepError};
use crate::db::models::interview::Interview;

/// How far beyond the longest landing time each claim extension reaches:
/// writes sent within this long of an extension are covered by it.
pub const EXTENSION_SLACK: Duration = Duration::from_secs(5);

/// Until when (this process's clock) the unit's claim surely covers a write
/// sent now; `None` before the first extension, or after a failed one.
type Cover = Arc<Mutex<Option<Instant>>>;

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
    pub sweep_interval: Option<Duration>,
    /// How long a claim lasts without renewal (the lease's duration).
    pub claim_hold: Duration,
    /// The longest a Lever write may take to land: each write's claim
    /// extension.
    pub write_lands_within: Duration,
    /// How long a checking read waits after a cut write.
    pub late_landing: Duration,
    /// Cancelled when this instance must stop working for the account at
    /// once (its lease was lost, or the drain's grace ran out).
    pub stop: CancellationToken,
    /// Held while one unit finds or makes the account's feedback template,
    /// so completions worked side by side make it once. One instance works
    /// an account at a time (its lease), so a lock in the process is enough.
    pub template_setup: Arc<tokio::sync::Mutex<()>>,
    /// Where the Lever calls of units are recorded, per candidate.
    pub calls: super::call_records::CallRecords,
}

/// The claim a unit of work runs under: its candidate and its own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitClaim {
    pub key: String,
    pub unit: Uuid,
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
    /// The lease as the claims' statements name it.
    pub fn lease_ref(&self) -> LeaseRef<'_> {
        LeaseRef {
            connection_id: self.id.0,
            owner: self.lease.owner(),
            epoch: self.lease.epoch(),
        }
    }

    /// Loads the connection and builds a client with its `perform_as`,
    /// whose every write send first extends `claim` (see the module doc).
    /// The row read here also tells the handle whether another instance
    /// changed the connection (reconnected, refreshed its token) since its
    /// caches were filled.
    /// Its every Lever attempt is recorded for the candidate (a unit of an
    /// event that names none records nothing).
    pub async fn begin(&self, claim: &UnitClaim) -> Result<Work, StepError> {
        let fence = self.write_fence(claim.clone(), Cover::default());
        let mut work = self.work_with(fence).await?;
        if !claim.key.starts_with(claim::NO_CANDIDATE_PREFIX) {
            let key = self.secrets.erased_key(self.id.0, &claim.key);
            let recorder = self.calls.recorder(self.id.0, key, claim.unit);
            work.client = work.client.with_recorder(recorder);
        }
        Ok(work)
    }

    /// Like [`Self::begin`] for work on the account as a whole, which takes
    /// no candidate's claim (the sweep's listing and webhook repair): its
    /// writes are fenced by the lease alone.
    pub async fn begin_unclaimed(&self) -> Result<Work, StepError> {
        let (lease, stop) = (self.lease.clone(), self.stop.clone());
        let fence: crate::lever::WriteFence = Arc::new(move || {
            let open = lease.writable() && !stop.is_cancelled();
            Box::pin(async move { open })
        });
        self.work_with(fence).await
    }

    /// Reads the connection row (telling the handle of changes made
    /// elsewhere) and builds its client, whose writes ask `fence` first.
    async fn work_with(&self, fence: crate::lever::WriteFence) -> Result<Work, StepError> {
        let id = self.id.0;
        let conn = self.db.run(move |c| Ok(Connection::find(c, id)?)).await?;
        self.handle.observe(&conn);
        let client = self
            .handle
            .client(conn.perform_as.clone())
            .with_fence(fence);
        Ok(Work { client, conn })
    }

    /// How far each claim extension reaches beyond the database's `now()`.
    fn extension(&self) -> Duration {
        self.write_lands_within + EXTENSION_SLACK
    }

    /// Asked before each write send: the lease is safely ours by this
    /// instance's clock, and the claim covers the write: extended within
    /// the slack, or now, in the database.
    ///
    /// Why the slack is safe: an extension sets `until` to at least the
    /// database's `now()` plus the landing time plus the slack, and that
    /// `now()` is no earlier than `asked`, taken before the extension was
    /// sent; a write sent before `asked + slack` lands by `until`.
    fn write_fence(&self, claim: UnitClaim, cover: Cover) -> crate::lever::WriteFence {
        let account = self.clone();
        Arc::new(move || {
            let account = account.clone();
            let claim = claim.clone();
            let cover = cover.clone();
            Box::pin(async move {
                if !account.lease.writable() || account.stop.is_cancelled() {
                    return false;
                }
                let now = Instant::now();
                let covered = cover
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_some_and(|until| now < until);
                if covered {
                    return true;
                }
                let (owner, epoch) = (account.lease.owner().to_owned(), account.lease.epoch());
                let (id, by) = (account.id.0, account.extension());
                let extended = account
                    .db
                    .run(move |c| {
                        let lease = LeaseRef {
                            connection_id: id,
                            owner: &owner,
                            epoch,
                        };
                        Ok(claim::extend(c, lease, &claim.key, claim.unit, by)?)
                    })
                    .await
                    .unwrap_or(false);
                *cover.lock().unwrap_or_else(|p| p.into_inner()) =
                    extended.then(|| now + EXTENSION_SLACK);
                extended
            })
        })
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

    /// A Lever write may start only while the lease is safely ours and the
    /// account is not stopping.
    pub fn may_write(&self) -> Result<(), StepError> {
        if self.lease.writable() && !self.stop.is_cancelled() {
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
