//! Prometheus metrics of alerts: notifications sent and failed.

use std::sync::LazyLock;

use prometheus::IntCounterVec;

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
