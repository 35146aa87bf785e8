//! Trace export (docs/contract/tracing.md): spans go over OTLP/HTTP
//! (protobuf) to `OTEL_EXPORTER_OTLP_ENDPOINT` when it is set, and nowhere
//! otherwise.
//!
//! What a trace holds is chosen here, not by `RUST_LOG`: the service's own
//! spans at `info` (a unit's `link` or `results` span, for example), and
//! the spans that exist only for traces, at `debug` under the target
//! [`TARGET`]: a delivery's `delivery.receive` and `delivery.store`, and
//! each Lever attempt's client span. Those are off (and cost nothing) when
//! nothing exports them and `RUST_LOG` is at `info`. How a delivery's
//! trace reaches the unit it causes is [`crate::trace_context`]'s.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt as _, Targets, filter_fn};
use tracing_subscriber::registry::LookupSpan;

use super::export_client::BlockingHyper;
use crate::config::TraceSettings;
use crate::trace_context::{self, TARGET};

/// How long one export may take before it is dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The exporting layer for a subscriber, and the guard that flushes it.
pub fn layer<S>(settings: &TraceSettings) -> anyhow::Result<(impl Layer<S>, TraceGuard)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", settings.endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(BlockingHyper::new(EXPORT_TIMEOUT)?)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("arkiter-lever");
    // Spans only: log lines stay in the logs, whose guarantees
    // (docs/contract/guarantees.md) they were written to.
    let chosen = Targets::new()
        .with_target(TARGET, LevelFilter::DEBUG)
        .with_target("arkiter_lever", LevelFilter::INFO)
        .and(filter_fn(|meta| meta.is_span()));
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(chosen);
    Ok((layer, TraceGuard { provider }))
}

/// Flushes and stops the exporter when dropped (outside any async runtime:
/// the last export runs on the exporter's own thread, and this waits for
/// it).
pub struct TraceGuard {
    provider: SdkTracerProvider,
}

impl TraceGuard {
    /// The layer is in the global subscriber: spans are exported from now on.
    pub(super) fn installed(self) -> Self {
        trace_context::set_exporting(true);
        self
    }
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        trace_context::set_exporting(false);
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "the trace exporter did not shut down cleanly");
        }
    }
}
