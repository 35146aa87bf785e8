//! Prometheus metrics of Lever calls (default registry) and the per-call
//! outcome record handed to the caller for health.
//!
//! Metrics: `lever_calls_total{endpoint,status}`, `lever_retries_total
//! {endpoint,reason}`, `lever_limiter_wait_seconds_total` and
//! `lever_limiter_wait_seconds` (histogram). Registration failures (e.g. a
//! name already taken) leave the metrics unregistered rather than failing.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

/// What one logical call ended with, for the caller's health records.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub endpoint: &'static str,
    /// Final HTTP status if there was one.
    pub status: Option<u16>,
    /// `ok`, `client_error`, `throttled`, `server_error`, `timeout`,
    /// `connection`, `needs_reauth`, `outcome_unknown`, `decode`.
    pub result: &'static str,
    pub attempts: u32,
    pub retries: u32,
    pub limiter_wait: Duration,
    pub elapsed: Duration,
}

impl CallOutcome {
    pub fn is_success(&self) -> bool {
        self.result == "ok"
    }
}

struct Metrics {
    calls: IntCounterVec,
    retries: IntCounterVec,
    limiter_wait: Histogram,
}

fn metrics() -> Option<&'static Metrics> {
    static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();
    METRICS.get_or_init(build).as_ref()
}

fn build() -> Option<Metrics> {
    let calls = IntCounterVec::new(
        Opts::new(
            "lever_calls_total",
            "Lever API calls by endpoint and final status",
        ),
        &["endpoint", "status"],
    )
    .ok()?;
    let retries = IntCounterVec::new(
        Opts::new(
            "lever_retries_total",
            "Lever API attempts that were retried",
        ),
        &["endpoint", "reason"],
    )
    .ok()?;
    let limiter_wait = Histogram::with_opts(
        HistogramOpts::new(
            "lever_limiter_wait_seconds",
            "Seconds each Lever request waited on its connection's rate limiter",
        )
        .buckets(vec![
            0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
        ]),
    )
    .ok()?;
    let registry = prometheus::default_registry();
    // Ignore duplicate registration: the metrics still count locally.
    let _ = registry.register(Box::new(calls.clone()));
    let _ = registry.register(Box::new(retries.clone()));
    let _ = registry.register(Box::new(limiter_wait.clone()));
    Some(Metrics {
        calls,
        retries,
        limiter_wait,
    })
}

pub(crate) fn record_call(outcome: &CallOutcome) {
    if let Some(m) = metrics() {
        let status = outcome
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| outcome.result.to_owned());
        m.calls
            .with_label_values(&[outcome.endpoint, &status])
            .inc();
    }
}

pub(crate) fn record_retry(endpoint: &'static str, reason: &str) {
    if let Some(m) = metrics() {
        m.retries.with_label_values(&[endpoint, reason]).inc();
    }
}

pub(crate) fn record_limiter_wait(wait: Duration) {
    if let Some(m) = metrics() {
        m.limiter_wait.observe(wait.as_secs_f64());
    }
}
