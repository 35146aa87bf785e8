//! The request span every log line of a request sits in (tracing-actix-web's
//! fields), with a target safe to log (docs/contract/guarantees.md): the path
//! without its query string (OAuth `code` and `state` travel there), and with
//! the secret segments of a path masked: a route's `{..token..}` parameters
//! (live and results links) and its candidate ids (`{opportunity_id}`,
//! the console's `{opp}`: exported traces hold no candidate id in a URL,
//! docs/contract/tracing.md), and on an unmatched path any long segment that
//! is not a UUID, since it may be a mistyped link.
//!
//! tracing-actix-web's `emit_event_on_error` feature is off (Cargo.toml): it
//! logs a line for every 4xx and 5xx answer, so a hostile client or a
//! database outage would flood the log. Status codes are in the
//! request metrics; real failures are logged where they happen (500s in
//! `error.rs`, database trouble sparingly through `db::errlog`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// What stands in for a masked segment.
const MASK: &str = "***";
/// An unmatched path's segments this long or longer are masked.
const LONG_SEGMENT: usize = 16;

pub struct SafeRootSpan;

impl RootSpanBuilder for SafeRootSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        if crate::http::webhook::is_webhook(req.method(), req.path()) {
            // Lever's deliveries, thousands a second: a span with its fields
            // formatted costs more than the rest of the request's routing.
            // Ingest logs what goes wrong with the connection id.
            return Span::none();
        }
        let pattern = req.match_pattern();
        let route = pattern.as_deref().unwrap_or("default");
        let request_id = req.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "HTTP request",
            http.method = %req.method(),
            http.route = %route,
            http.target = %safe_target(req.path(), pattern.as_deref()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id.map(|r| r.to_string()).unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Whether a route's path segment `pat` is a parameter never shown: a
/// link's token, or a candidate's id.
fn masked_param(pat: &str) -> bool {
    pat.contains("token") || pat.contains("opportunity") || pat == "{opp}"
}

/// `path` with secret segments masked; `pattern` is the matched route's.
pub fn safe_target(path: &str, pattern: Option<&str>) -> String {
    match pattern {
        Some(p) => path
            .split('/')
            .zip(p.split('/').chain(std::iter::repeat("")))
            .map(|(seg, pat)| if masked_param(pat) { MASK } else { seg })
            .collect::<Vec<_>>()
            .join("/"),
        None => path
            .split('/')
            .map(|seg| {
                if seg.len() >= LONG_SEGMENT && uuid::Uuid::parse_str(seg).is_err() {
                    MASK
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_target;

    #[test]
    fn tokens_are_masked_and_ids_kept() {
        let id = "0b6c2f1e-7d0a-4b5e-9a43-2c1d8e6f7a90";
        assert_eq!(
            safe_target("/live/abcdefabcdefabcdef", Some("/live/{live_token}")),
            "/live/***"
        );
        assert_eq!(
            safe_target(&format!("/api/v1/orgs/{id}"), Some("/api/v1/orgs/{org}")),
            format!("/api/v1/orgs/{id}")
        );
        assert_eq!(
            safe_target(&format!("/x/{id}/abcdefabcdefabcdefab/y"), None),
            format!("/x/{id}/***/y")
        );
        assert_eq!(
            safe_target(
                &format!("/api/v1/orgs/{id}/candidates/opp-1/export"),
                Some("/api/v1/orgs/{org}/candidates/{opportunity_id}/export")
            ),
            format!("/api/v1/orgs/{id}/candidates/***/export")
        );
        assert_eq!(
            safe_target(
                "/console/orgs/o/candidates/opp-1",
                Some("/console/orgs/{org}/candidates/{opp}")
            ),
            "/console/orgs/o/candidates/***"
        );
    }
}
