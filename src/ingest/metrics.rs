//! `arkiter_webhooks_total{outcome}`: every webhook request by how it ended;
//! `arkiter_ingest_row_by_row_total`: batches written again one row at a
//! time because a row's data failed the batch.

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec};

/// How one webhook request ended, as the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Ignored,
    RejectedSignature,
    BadRequest,
    UnknownConnection,
    TooLarge,
    /// The database could not take the write; Lever retries.
    Unavailable,
    Internal,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::RejectedSignature => "rejected_signature",
            Self::BadRequest => "bad_request",
            Self::UnknownConnection => "unknown_connection",
            Self::TooLarge => "too_large",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

static WEBHOOKS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_webhooks_total",
        "Lever webhook deliveries by outcome",
        &["outcome"]
    )
    .ok()
});

pub fn count(outcome: Outcome) {
    if let Some(c) = WEBHOOKS.as_ref() {
        c.with_label_values(&[outcome.as_str()]).inc();
    }
}

static ROW_BY_ROW: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arkiter_ingest_row_by_row_total",
        "Ingest batches written again one row at a time after a data error"
    )
    .ok()
});

/// A batch failed on a row's data and is written again row by row.
pub fn row_by_row() {
    if let Some(c) = ROW_BY_ROW.as_ref() {
        c.inc();
    }
}

static KEY_READS: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arkiter_ingest_key_reads_total",
        "Reads of a connection's signature tokens from the database (cache misses and refreshes)"
    )
    .ok()
});

/// Ingest read a connection's signature tokens from the database.
pub fn key_read() {
    if let Some(c) = KEY_READS.as_ref() {
        c.inc();
    }
}
