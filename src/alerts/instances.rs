//! The operator's notifications about the instances themselves
//! (docs/contract/alerts.md): one started, one stopped after draining, and
//! one whose leases another instance took over after it stopped renewing
//! them. Queued in the durable outbox like every notification, so any live
//! instance sends them, a stopped one's too.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;

use super::body;
use crate::config::ALERT_RETRY_FOR;
use crate::db::models::alert::{self, Notice};
use crate::db::models::lease;

/// Queues one operator notification of `kind`.
fn queue(
    c: &mut PgConnection,
    kind: &'static str,
    instance: &str,
    message: &str,
    extra: serde_json::Value,
) -> QueryResult<usize> {
    let now = Utc::now();
    let give_up = now + chrono::Duration::from_std(ALERT_RETRY_FOR).unwrap_or_default();
    let notice = Notice {
        org: None,
        kind,
        body: body::instance(kind, now, instance, message, extra),
    };
    alert::enqueue(c, &[notice], give_up)
}

/// `instance` has started.
pub fn started(c: &mut PgConnection, instance: &str) -> QueryResult<usize> {
    queue(
        c,
        body::INSTANCE_STARTED,
        instance,
        &format!("instance {instance} started"),
        json!({}),
    )
}

/// `instance` has drained and stopped, handing over `released` leases.
pub fn stopped(c: &mut PgConnection, instance: &str, released: usize) -> QueryResult<usize> {
    queue(
        c,
        body::INSTANCE_STOPPED,
        instance,
        &format!("instance {instance} stopped and handed over {released} connections"),
        json!({ "connections": released }),
    )
}

/// `by` has just taken `taken` leases from `dead`, which stopped renewing
/// them. Notifies once per dead instance (until it heartbeats again), with
/// every connection it held: those just taken and those it still holds.
pub fn taken_over(c: &mut PgConnection, dead: &str, by: &str, taken: usize) -> QueryResult<usize> {
    let Some(still_held) = lease::mark_taken_over(c, dead)? else {
        return Ok(0);
    };
    let connections = i64::try_from(taken).unwrap_or(i64::MAX) + still_held;
    queue(
        c,
        body::LEASE_TAKEN_OVER,
        dead,
        &format!(
            "instance {dead} stopped renewing its leases; its {connections} connections are being taken over"
        ),
        json!({ "connections": connections, "taken_by": by }),
    )
}
