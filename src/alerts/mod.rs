//! Alerts (docs/contract/alerts.md): org and operator destinations that
//! receive signed notifications when a connection's problem opens or
//! resolves, or its status changes.
//!
//! - [`address`]: the address rules against request forgery;
//! - [`signing`]: Standard Webhooks signatures;
//! - [`body`]: what a notification says (and Slack's line);
//! - [`evaluate`]: the debounce, a pure function;
//! - [`evaluator`]: the periodic evaluation under an advisory lock, writing
//!   transitions and notifications in one transaction;
//! - [`sender`]: the outbox's sender, on every instance;
//! - [`instances`]: the operator's notifications about the instances.

pub mod address;
pub mod body;
pub mod evaluate;
pub mod evaluator;
pub mod instances;
pub mod metrics;
pub mod sender;
pub mod signing;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::AlertSettings;
use crate::db::Pool;
use crate::domain::errors::Chain;
use crate::domain::secrets::SecretBox;

/// The process's alerts: wakes the sender, and checks addresses with the
/// same resolver it sends with.
#[derive(Clone)]
pub struct Alerts {
    pub settings: AlertSettings,
    pub resolver: address::Resolver,
    wake: Arc<Notify>,
}

impl Alerts {
    /// Starts the sender and the evaluator, and queues the operator's
    /// `instance.started` for `instance`.
    pub fn start(
        db: Pool,
        secrets: SecretBox,
        settings: AlertSettings,
        resolver: address::Resolver,
        instance: String,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let (started_db, started_wake) = (db.clone(), wake.clone());
        actix_rt::spawn(async move {
            let queued = started_db
                .run(move |c| Ok(instances::started(c, &instance)?))
                .await;
            match queued {
                Ok(n) if n > 0 => started_wake.notify_one(),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %Chain(&e), "could not queue instance.started"),
            }
        });
        actix_rt::spawn(sender::run(sender::SenderParts {
            db: db.clone(),
            secrets,
            settings,
            resolver: resolver.clone(),
            wake: wake.clone(),
        }));
        let woken = wake.clone();
        actix_rt::spawn(async move {
            loop {
                actix_rt::time::sleep(settings.evaluate_every).await;
                let evaluated = db
                    .run(move |c| {
                        let queued = evaluator::evaluate(c, &settings)?;
                        Ok((queued, crate::db::models::alert::pending_count(c)?))
                    })
                    .await;
                match evaluated {
                    Ok((queued, pending)) => {
                        metrics::backlog(pending);
                        if queued > 0 {
                            woken.notify_one();
                        }
                    }
                    Err(e) => tracing::warn!(error = %Chain(&e), "evaluating alerts failed"),
                }
            }
        });
        Self {
            settings,
            resolver,
            wake,
        }
    }

    /// New notifications are queued: send them now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}
