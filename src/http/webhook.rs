//! `POST /webhooks/lever/{connection_id}`: reads the raw body itself (whatever
//! the Content-Type, at most 64 KiB) so every refusal, 413 included, has the
//! one error shape, and answers 200 `{"status": "accepted" | "duplicate" |
//! "ignored"}` only once the delivery is committed.

use std::time::Instant;

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, post, web};
use futures_util::StreamExt;
use serde::Serialize;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::ingest::{IngestError, MAX_BODY, Receipt, metrics};
use crate::lever::signature::SignatureError;
use crate::state::AppState;
use crate::trace_context;
use tracing::Instrument as _;

#[derive(Debug, Serialize)]
struct Answer {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// The route's pattern, as the request metrics label it.
const ROUTE: &str = "/webhooks/lever/{connection_id}";

/// Whether a request goes to this handler (the route's method, and one
/// path segment after the prefix): the request-span and request-metrics
/// middleware leave those to the handler, which counts them itself.
pub fn is_webhook(method: &Method, path: &str) -> bool {
    method == Method::POST
        && path
            .strip_prefix("/webhooks/lever/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(receive);
}

#[post("/webhooks/lever/{connection_id}")]
pub async fn receive(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let start = Instant::now();
    // For exported traces only (off otherwise: this route skips the
    // request-span middleware for speed). The route, never the URL.
    let span = tracing::debug_span!(target: trace_context::TARGET, "delivery.receive",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = ROUTE,
        http.response.status_code = tracing::field::Empty,
    );
    let result = handle(&state, &path, &req, payload)
        .instrument(span.clone())
        .await;
    metrics::count(match &result {
        Ok(r) => r.outcome,
        Err(e) => e.outcome(),
    });
    let res = match result {
        Ok(receipt) => HttpResponse::Ok().json(Answer {
            status: receipt.outcome.as_str(),
            reason: receipt.reason,
        }),
        Err(e) => ApiError::from(e).error_response(),
    };
    crate::http::metrics::observe(ROUTE, "POST", res.status(), start);
    span.record("http.response.status_code", res.status().as_u16());
    res
}

async fn handle(
    state: &AppState,
    connection: &str,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Receipt, IngestError> {
    // A malformed id names nothing: 404 like an unknown one (docs/contract/http-api.md).
    let id = Uuid::parse_str(connection).map_err(|_| IngestError::UnknownConnection)?;
    let body = read_body(req, payload).await?;
    state.ingest.receive(id, &body).await
}

/// Reads at most [`MAX_BODY`] bytes, refusing early on a declared length.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, IngestError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(IngestError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(1024));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            if crate::http::limits::is_body_timeout(&e) {
                IngestError::SlowBody
            } else {
                IngestError::BadBody(format!("the body could not be read: {e}"))
            }
        })?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(IngestError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn signature_message(e: &SignatureError) -> &'static str {
    match e {
        SignatureError::Missing => "the delivery carries no signature",
        SignatureError::NotHex => "the signature is not 64 lowercase hex characters",
        SignatureError::Mismatch => {
            "the signature does not match any signature token of this connection"
        }
        SignatureError::Stale => "triggeredAt is more than 15 days old; the delivery is too old",
        SignatureError::Future => "triggeredAt is more than 5 minutes in the future",
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let invalid_signature = |message: String| ApiError::Other {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_signature",
            message,
        };
        match e {
            IngestError::TooLarge => ApiError::PayloadTooLarge(e.to_string()),
            IngestError::BadBody(m) => ApiError::InvalidJson(m),
            IngestError::SlowBody => crate::http::limits::body_timeout(),
            IngestError::UnknownConnection => ApiError::not_found("connection"),
            IngestError::NoSignatureToken => invalid_signature(format!(
                "{e}: connect the org again or set the signature token"
            )),
            IngestError::Signature(s) => invalid_signature(signature_message(&s).to_owned()),
            IngestError::Unavailable(cause) => {
                if let Some(suppressed) = crate::db::errlog::allow("webhook_unavailable") {
                    tracing::warn!(error = %cause, suppressed, "webhook delivery refused: database unavailable");
                }
                ApiError::Unavailable(
                    "the delivery could not be stored right now; Lever will retry".into(),
                )
            }
            IngestError::Internal(cause) => ApiError::Internal(cause.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only what the handler answers skips the middleware's count: other
    /// methods (405) and deeper paths (404) are counted by the middleware.
    #[test]
    fn only_the_routes_requests_count_themselves() {
        let id = "/webhooks/lever/0b6c2f1e-7d0a-4b5e-9a43-2c1d8e6f7a90";
        assert!(is_webhook(&Method::POST, id));
        assert!(!is_webhook(&Method::GET, id));
        assert!(!is_webhook(&Method::POST, "/webhooks/lever/"));
        assert!(!is_webhook(&Method::POST, &format!("{id}/x")));
        assert!(!is_webhook(&Method::POST, "/api/v1/orgs"));
    }
}
