//! Prometheus metrics of alerts: notifications sent and failed, and how
//! many wait in the outbox.

use std::sync::LazyLock;

use prometheus::{IntCounterVec, IntGauge};

use crate::db::models::alert::SendResult;

static SENDS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_alert_sends_total",
        "Attempts to send an alert notification, by result (sent, failed)",
        &["result"]
    )
    .ok()
});

/// Counts one send.
pub fn sent(r: &SendResult) {
    if let Some(c) = SENDS.as_ref() {
        c.with_label_values(&[if r.ok { "sent" } else { "failed" }])
            .inc();
    }
}

static BACKLOG: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    prometheus::register_int_gauge!(
        "arkiter_alert_outbox_pending",
        "Alert notifications waiting to be sent (or retried), at the last evaluation"
    )
    .ok()
});

/// The outbox's pending notifications, as just counted.
pub fn backlog(n: i64) {
    if let Some(g) = BACKLOG.as_ref() {
        g.set(n);
    }
}
