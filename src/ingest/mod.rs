//! Webhook ingest (docs/contract/webhooks.md): from a delivery's raw bytes to a row
//! in the durable inbox `lever_events`, committed before Lever gets its 2xx.
//!
//! Order of checks: body size, then the body's shape (400), the connection
//! (404: an id not in the instance's [`Roster`] is refused from memory), the
//! signature against every signature token the connection ever had (401,
//! counted in memory and written in batches: [`rejected`]; nothing stored),
//! and only then what the event is. Stored as:
//! - `pending` (and the connection's worker woken after the commit, once
//!   per batch): a `candidateStageChange` into the connection's Arkiter
//!   Live stage. Also
//!   every stage change while the connection has no stage id yet
//!   (`needs_setup`): dropping them would lose candidates moved while setup was
//!   broken, so they are kept and the worker, which re-reads the opportunity
//!   anyway, ignores them (`left_stage`) if they are not in the stage.
//! - `ignored` with a reason: `test_ping` (a signed `candidateHired` with empty
//!   `data`), `other_event`, `other_stage`, `no_opportunity`.
//!
//! Connections in any status ingest alike: a disconnected or `needs_reauth`
//! connection keeps its signature tokens and its deliveries are worked on
//! after reconnecting. Duplicates (same `token`, or same event + opportunity +
//! to-stage + `triggeredAt`) are absorbed by the table's unique indexes.
//!
//! Rows are written with group commit ([`inbox`]): deliveries arriving
//! together share one transaction, and each is answered after it commits.

pub mod cache;
pub mod delivery;
pub mod inbox;
pub mod metrics;
pub mod rejected;
pub mod store;

use std::sync::Arc;

use chrono::Utc;
use uuid::Uuid;

pub use cache::{forget, invalidate};
use delivery::{Decision, Delivery};
pub use inbox::Inbox;
pub use metrics::Outcome;
use store::OwnedEvent;

use crate::db::models::health_record;
use crate::db::{DbError, Pool};
use crate::domain::errors::Chain;
use crate::domain::secrets::SecretBox;
use crate::domain::status::EventStatus;
use crate::lever::signature::SignatureError;
use crate::roster::Roster;
use crate::trace_context;
use rejected::Rejections;
use tracing::Instrument as _;

/// Largest body accepted (docs/contract/webhooks.md).
pub const MAX_BODY: usize = 64 * 1024;

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    BadBody(String),
    /// The body did not arrive within the deadline (a stalled client).
    #[error("the body did not arrive in time")]
    SlowBody,
    #[error("no such connection")]
    UnknownConnection,
    #[error("this connection has no webhook signature token yet")]
    NoSignatureToken,
    #[error("{0}")]
    Signature(SignatureError),
    #[error("the database cannot take the delivery: {0}")]
    Unavailable(DbError),
    #[error("storing the delivery failed: {0}")]
    Internal(DbError),
}

impl IngestError {
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::TooLarge => Outcome::TooLarge,
            Self::BadBody(_) | Self::SlowBody => Outcome::BadRequest,
            Self::UnknownConnection => Outcome::UnknownConnection,
            Self::NoSignatureToken | Self::Signature(_) => Outcome::RejectedSignature,
            Self::Unavailable(_) => Outcome::Unavailable,
            Self::Internal(_) => Outcome::Internal,
        }
    }
}

impl From<DbError> for IngestError {
    /// A pool that cannot hand out a connection, a connection lost under
    /// the write, a lock or statement timeout: "try again later" for Lever
    /// ([`crate::db::conn::is_transient`]); anything else is a bug.
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_) | DbError::Saturated(_) => Self::Unavailable(e),
            DbError::Query(ref q) if crate::db::conn::is_transient(q) => Self::Unavailable(e),
            other => Self::Internal(other),
        }
    }
}

impl From<diesel::result::Error> for IngestError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

/// What happened to an accepted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub outcome: Outcome,
    pub reason: Option<&'static str>,
}

/// What ingest needs, and nothing more: its own pool (so workers can never
/// starve deliveries of connections), the key to open signature tokens, the
/// inbox whose writers group-commit the rows, the ids of every connection,
/// and the refusal counts not yet written.
#[derive(Clone)]
pub struct Ingest {
    db: Pool,
    secrets: SecretBox,
    inbox: Inbox,
    roster: Arc<Roster>,
    rejections: Arc<Rejections>,
}

impl Ingest {
    /// Starts the inbox's writer threads on `db` (they wake the accounts
    /// they stored pending work for through `wake`) and the task that
    /// writes refusal counts.
    pub fn start(
        db: Pool,
        secrets: SecretBox,
        wake: crate::wake::Wake,
        roster: Arc<Roster>,
    ) -> std::io::Result<Self> {
        let inbox = Inbox::start(db.clone(), wake)?;
        let rejections = Arc::new(Rejections::default());
        rejections.spawn_flusher(db.clone());
        Ok(Self {
            db,
            secrets,
            inbox,
            roster,
            rejections,
        })
    }

    /// The ids of every connection, as this instance knows them.
    pub fn roster(&self) -> &Arc<Roster> {
        &self.roster
    }

    /// The ingest pool, for readiness checks.
    pub fn pool(&self) -> &Pool {
        &self.db
    }

    /// Verifies and stores one delivery for `connection_id`.
    pub async fn receive(&self, connection_id: Uuid, bytes: &[u8]) -> Result<Receipt, IngestError> {
        ingest(self, connection_id, bytes).await
    }
}

async fn ingest(state: &Ingest, connection_id: Uuid, bytes: &[u8]) -> Result<Receipt, IngestError> {
    let delivery = Delivery::parse(bytes).map_err(IngestError::BadBody)?;
    if state.roster.knows(connection_id) == Some(false) {
        return Err(IngestError::UnknownConnection);
    }
    let keys = cache::lookup(&state.db, &state.secrets, connection_id)
        .await?
        .ok_or(IngestError::UnknownConnection)?;
    let now_ms = Utc::now().timestamp_millis();
    if let Err(e) = verify(&keys, &delivery, now_ms) {
        state.rejections.record(connection_id);
        return Err(e);
    }
    let decision = delivery::decide(&delivery.body, &keys.stage_ids, keys.close_on_exit);
    let inserted = store(state, &keys, delivery, decision).await?;
    if inserted && keys.should_touch(now_ms) {
        touch_received(state, connection_id).await;
    }
    if !inserted {
        return Ok(Receipt {
            outcome: Outcome::Duplicate,
            reason: None,
        });
    }
    if decision.status == EventStatus::Pending {
        // The writer that stored it has woken the account's worker.
        return Ok(Receipt {
            outcome: Outcome::Accepted,
            reason: None,
        });
    }
    Ok(Receipt {
        outcome: Outcome::Ignored,
        reason: decision.reason,
    })
}

fn verify(
    keys: &cache::ConnectionKeys,
    delivery: &Delivery<'_>,
    now_ms: i64,
) -> Result<(), IngestError> {
    if keys.tokens.is_empty() {
        return Err(IngestError::NoSignatureToken);
    }
    delivery::verify_any(&keys.tokens, &delivery.body, now_ms).map_err(IngestError::Signature)
}

/// Stores the event (group commit: see [`inbox`]); whether it was new.
/// Answers only once the transaction holding it has committed.
async fn store(
    state: &Ingest,
    keys: &cache::ConnectionKeys,
    delivery: Delivery<'_>,
    decision: Decision,
) -> Result<bool, IngestError> {
    // For exported traces only (off otherwise): the wait for the commit,
    // and the context the unit's trace links to.
    let span = tracing::debug_span!(target: trace_context::TARGET, "delivery.store",
        arkiter.event_status = decision.status.as_str());
    let row = {
        let _in = span.enter();
        owned_event(keys, delivery, decision, trace_context::stored_parent())
    };
    state.inbox.store(row).instrument(span).await
}

fn owned_event(
    keys: &cache::ConnectionKeys,
    delivery: Delivery<'_>,
    decision: Decision,
    trace_parent: Option<String>,
) -> OwnedEvent {
    let b = &delivery.body;
    OwnedEvent {
        // Time-ordered: new rows go to the right edge of the primary key
        // index instead of a random page of it.
        id: Uuid::now_v7(),
        connection_id: keys.connection_id.0,
        org_id: keys.org_id.0,
        opportunity_id: b
            .lifecycle_opportunity()
            .or(b.data.opportunity_id.as_str())
            .map(str::to_owned),
        to_stage_id: b.data.to_stage_id.as_str().map(str::to_owned),
        from_stage_id: b.data.from_stage_id.as_str().map(str::to_owned),
        triggered_at: b.triggered_at,
        status: decision.status,
        reason: decision.reason,
        event: b.event.clone().into_owned(),
        token: b.token.clone().into_owned(),
        payload: delivery.raw.to_owned(),
        trace_parent,
    }
}

/// Best effort too: the event is committed, and failing the request now would
/// only make Lever resend a duplicate.
async fn touch_received(state: &Ingest, connection_id: Uuid) {
    let res = state
        .db
        .run(move |conn| Ok(health_record::touch_received(conn, connection_id)?))
        .await;
    if let Err(e) = res
        && let Some(suppressed) = crate::db::errlog::allow("touch_received")
    {
        tracing::warn!(%connection_id, error = %Chain(&e), suppressed, "could not record last_received_at");
    }
}
