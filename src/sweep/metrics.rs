//! Prometheus metrics of the sweep: sweeps run (by result), candidates found
//! that Lever did not deliver, webhooks registered again.

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec};

use super::run::{SweepError, SweepOutcome, WebhookCheck};

static SWEEPS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_sweeps_total",
        "Sweeps of a connection's stage, by result",
        &["result"]
    )
    .ok()
});

static FOUND: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arkiter_sweep_candidates_found_total",
        "Candidates a sweep found in the stage that Lever had not delivered"
    )
    .ok()
});

static REPAIRED: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arkiter_sweep_webhooks_repaired_total",
        "Managed webhooks a sweep registered again in Lever"
    )
    .ok()
});

/// Counts one finished sweep.
pub fn sweep(result: &Result<SweepOutcome, SweepError>) {
    let label = if result.is_ok() { "ok" } else { "error" };
    if let Some(c) = SWEEPS.as_ref() {
        c.with_label_values(&[label]).inc();
    }
    let Ok(o) = result else { return };
    if let Some(c) = FOUND.as_ref() {
        c.inc_by(o.found.len() as u64);
    }
    if matches!(o.webhook, WebhookCheck::Repaired { .. })
        && let Some(c) = REPAIRED.as_ref()
    {
        c.inc();
    }
}
