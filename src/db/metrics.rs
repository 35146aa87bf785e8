//! Database health in numbers: statements sent, connections found dropped
//! by the server, and database errors (counted here, logged only now and
//! then: see [`crate::db::errlog`]).

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec};

static LOST: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arkiter_db_connections_lost_total",
        "Pooled connections found closed by the server and discarded"
    )
    .ok()
});

static STATEMENTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_db_statements_total",
        "Statements sent to the database, by pool",
        &["pool"]
    )
    .ok()
});

static ERRORS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_db_errors_total",
        "Database errors by where they happened",
        &["site"]
    )
    .ok()
});

pub fn connection_lost() {
    if let Some(c) = LOST.as_ref() {
        c.inc();
    }
}

pub fn error(site: &str) {
    if let Some(c) = ERRORS.as_ref() {
        c.with_label_values(&[site]).inc();
    }
}

/// The statement counter of `pool`, for its connections' instrumentation.
pub fn statements(pool: &str) -> Option<IntCounter> {
    STATEMENTS.as_ref().map(|c| c.with_label_values(&[pool]))
}
