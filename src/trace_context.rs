//! A delivery's trace and the work it causes (docs/contract/tracing.md).
//! They meet only in the database: the delivery's trace context is stored
//! with its event ([`stored_parent`]), and the unit's span links to it
//! ([`link_to_stored`]). Both do nothing unless traces are exported (the
//! exporter is installed by `telemetry`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The target of the spans made only for traces (`debug` level). Lever's
/// client spans use the same target from the `lever-api` crate.
pub const TARGET: &str = crate::lever::TRACE_TARGET;

/// Whether spans are being exported: the store path skips the trace
/// context's work otherwise.
static EXPORTING: AtomicBool = AtomicBool::new(false);

pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Set by `telemetry` once its exporter is installed, cleared at shutdown.
pub fn set_exporting(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

/// The current span's trace context as a W3C `traceparent`, to store with
/// an event; `None` when nothing is exported.
pub fn stored_parent() -> Option<String> {
    if !exporting() {
        return None;
    }
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Links `span` to the trace whose context was stored with its event (a
/// `traceparent`); nothing when there is none or nothing is exported.
pub fn link_to_stored(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|_| exporting()) else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    span.add_link(cx.span().span_context().clone());
}
