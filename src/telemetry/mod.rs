//! Logging and traces. `RUST_LOG` filters the log lines and
//! `ARKITER_LOG_FORMAT` picks pretty or JSON lines; with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP/HTTP
//! ([`traces`], docs/contract/tracing.md), through a filter of their own so
//! `RUST_LOG` never decides what a trace holds.

mod export_client;
pub mod traces;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, fmt};

use crate::config::{LogFormat, TraceSettings};

pub use traces::TraceGuard;

/// Installs the global subscriber, logging only; a second call (tests) is
/// a no-op. Nothing on the hot path changes when traces are off.
pub fn init(filter: &str, format: LogFormat) {
    let builder = fmt()
        .with_env_filter(env_filter(filter))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Installs the global subscriber with the trace exporter beside the log
/// lines; the guard flushes the exporter when dropped (`None` when a
/// subscriber was already installed).
pub fn init_with_traces(
    filter: &str,
    format: LogFormat,
    traces: &TraceSettings,
) -> anyhow::Result<Option<TraceGuard>> {
    let lines = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => fmt::layer().with_writer(std::io::stderr).boxed(),
    };
    let (exporting, guard) = traces::layer(traces)?;
    let installed = tracing_subscriber::registry()
        .with(lines.with_filter(env_filter(filter)))
        .with(exporting)
        .try_init();
    Ok(installed.is_ok().then(|| guard.installed()))
}

fn env_filter(filter: &str) -> EnvFilter {
    EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"))
}
