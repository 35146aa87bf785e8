//! Prometheus metrics: `/metrics`, plus the middleware that counts requests by
//! route pattern and status and times them. Other modules register their own
//! metrics in the default registry.

use std::sync::LazyLock;
use std::time::Instant;

use crate::domain::errors::Chain;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, get, web};
use prometheus::{Encoder, HistogramVec, IntCounterVec, TextEncoder};

static HTTP_REQUESTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "arkiter_http_requests_total",
        "HTTP requests by route pattern, method and status",
        &["route", "method", "status"]
    )
    .ok()
});

static HTTP_SECONDS: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    prometheus::register_histogram_vec!(
        "arkiter_http_request_duration_seconds",
        "HTTP request latency by route pattern",
        &["route"],
        vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
        ]
    )
    .ok()
});

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(metrics);
}

#[get("/metrics")]
async fn metrics() -> HttpResponse {
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&prometheus::gather(), &mut buf) {
        tracing::warn!(error = %Chain(&e), "metrics encoding failed");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(buf)
}

/// Middleware: count and time every request under its route pattern (never the
/// raw path, which carries ids).
///
/// The webhook route counts itself ([`observe`]): it is most of the traffic,
/// and its pattern and method are known without building strings.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if crate::http::webhook::is_webhook(req.method(), req.path()) {
        return next.call(req).await;
    }
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    observe(&route, &method, res.status(), start);
    Ok(res)
}

/// Counts and times one request of `route` that started at `start`.
pub fn observe(route: &str, method: &str, status: StatusCode, start: Instant) {
    if let Some(c) = HTTP_REQUESTS.as_ref() {
        c.with_label_values(&[route, method, status.as_str()]).inc();
    }
    if let Some(h) = HTTP_SECONDS.as_ref() {
        h.with_label_values(&[route])
            .observe(start.elapsed().as_secs_f64());
    }
}
