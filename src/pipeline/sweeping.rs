//! The supervisor's side of the sweep (`crate::sweep`): when one is due
//! (periodic, after (re)connect, or asked for), it runs inside the account's
//! supervisor at the lowest priority. Before each of its Lever calls it waits
//! until no unit of the account is in flight ([`HotPath`]), so it takes
//! limiter tokens only when webhook and completion work is not waiting and
//! delays a hot-path unit by at most the one call it has started.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::context::AccountCtx;
use crate::sweep::{SweepDeps, SweepError, SweepOutcome, SweepTarget, run::Fence};

/// How many units of the account are in flight, published by the supervisor.
#[derive(Debug)]
pub struct HotPath {
    tx: watch::Sender<usize>,
}

impl Default for HotPath {
    fn default() -> Self {
        Self {
            tx: watch::channel(0).0,
        }
    }
}

impl HotPath {
    pub fn set(&self, in_flight: usize) {
        self.tx.send_replace(in_flight);
    }

    /// Resolves once no unit is in flight.
    fn idle(&self) -> impl std::future::Future<Output = ()> + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means the supervisor is gone: nothing to yield to.
            let _ = rx.wait_for(|n| *n == 0).await;
        }
    }
}

/// Runs a due sweep of the account, if any; `Ok(None)` when none was due or
/// the connection is not active.
pub async fn run_if_due(
    ctx: &AccountCtx,
    interval: Option<Duration>,
    hot: Arc<HotPath>,
) -> Result<Option<SweepOutcome>, SweepError> {
    let Some(target) = SweepTarget::load(&ctx.db, ctx.id, &ctx.public_url).await? else {
        return Ok(None);
    };
    let work = ctx.begin_unclaimed().await.map_err(|e| match e {
        super::outcome::StepError::Db(e) => SweepError::Db(e),
        _ => SweepError::Fenced,
    })?;
    let lease = ctx.lease.clone();
    let deps = SweepDeps {
        client: work.client,
        db: ctx.db.clone(),
        secrets: ctx.secrets.clone(),
        may_write: Arc::new(move || lease.writable()),
        fence: Some(Fence {
            owner: ctx.lease.owner().to_owned(),
            epoch: ctx.lease.epoch(),
        }),
    };
    crate::sweep::run_if_due(&deps, &target, interval, || hot.idle()).await
}
