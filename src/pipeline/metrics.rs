//! Prometheus metrics of the pipeline: units by outcome, and the latencies a
//! customer feels (stage change → link posted, completion → results posted).

use std::sync::LazyLock;

use prometheus::{Histogram, IntCounterVec};

static UNITS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_jobs_total",
        "Pipeline units (events, follow-up jobs) by outcome",
        &["unit", "outcome"]
    )
    .ok()
});

const BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static LINK_SECONDS: LazyLock<Option<Histogram>> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "arkiter_stage_change_to_link_seconds",
        "From the webhook's arrival to the link and tag on the opportunity",
        BUCKETS.to_vec()
    )
    .ok()
});

static RESULTS_SECONDS: LazyLock<Option<Histogram>> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "arkiter_completion_to_results_seconds",
        "From the completion's arrival to the results on the opportunity",
        BUCKETS.to_vec()
    )
    .ok()
});

pub fn unit(unit: &str, outcome: &str) {
    if let Some(c) = UNITS.as_ref() {
        c.with_label_values(&[unit, outcome]).inc();
    }
}

fn since(h: &Option<Histogram>, from: chrono::DateTime<chrono::Utc>) {
    if let Some(h) = h.as_ref() {
        let secs = (chrono::Utc::now() - from).num_milliseconds().max(0) as f64 / 1000.0;
        h.observe(secs);
    }
}

pub fn link_posted(received_at: chrono::DateTime<chrono::Utc>) {
    since(&LINK_SECONDS, received_at);
}

pub fn results_posted(completed_at: chrono::DateTime<chrono::Utc>) {
    since(&RESULTS_SECONDS, completed_at);
}

static REGISTRY_RESTARTS: LazyLock<Option<prometheus::IntCounter>> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arkiter_registry_restarts_total",
        "Pipeline registries started again after the previous one died"
    )
    .ok()
});

pub fn registry_restarted() {
    if let Some(c) = REGISTRY_RESTARTS.as_ref() {
        c.inc();
    }
}

static CALL_RECORDS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_call_records_total",
        "Per-candidate Lever call records: written, dropped (the buffer was full) or failed (their batch's insert failed)",
        &["result"]
    )
    .ok()
});

/// `n` call records ended `result` (`written`, `dropped`, `failed`).
pub fn call_records(result: &str, n: usize) {
    if let Some(c) = CALL_RECORDS.as_ref() {
        c.with_label_values(&[result]).inc_by(n as u64);
    }
}
