//! One logical Lever call: limiter, bearer token, retries, typed outcome.
//!
//! Rules (docs/contract/lever-calls.md): every attempt first waits on the connection's limiter.
//! 429, 5xx, timeouts and cut connections are retried with full-jitter
//! exponential backoff (`Retry-After` honoured), bounded by the policy's
//! attempts and total time. Writes are resent only after a 429 or when the
//! connection was never established; a write answered by 5xx or cut after
//! sending is `OutcomeUnknown`. 401 → one refresh via the token source, one
//! more try, then `NeedsReauth`. Other 4xx → `Api` with `{code,message}`.
//! Every send of a write first asks the client's fence (the lease), so an
//! instance that lost the connection sends nothing more, retries included.

use std::time::{Duration, Instant};

use awc::error::{ConnectError, SendRequestError};
use awc::http::Method;
use bytes::Bytes;
use secrecy::{ExposeSecret as _, SecretString};
use tracing::Instrument as _;

use super::{AttemptRecord, LeverClient};
use crate::errors::{Failure, LeverError};
use crate::metrics::{self, CallOutcome};
use crate::retry::parse_retry_after;
use crate::wire::ErrorBody;

/// Largest response body accepted from Lever.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// A write is resent (after 429s or unsent attempts) for at most this long,
/// well inside a lease (6 s by default): a write that cannot get through
/// gives up and its unit retries later from a fresh read, instead of
/// chasing an old decision across a takeover.
pub(crate) const WRITE_RETRY_BUDGET: Duration = Duration::from_secs(4);

pub(crate) struct Request {
    pub endpoint: &'static str,
    pub method: Method,
    /// Path under the API base, starting with `/`.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    /// The body's type; `None`: JSON.
    pub content_type: Option<String>,
}

impl Request {
    fn is_write(&self) -> bool {
        self.method != Method::GET && self.method != Method::HEAD
    }
}

/// What one attempt ran into.
enum Attempt {
    Answer {
        status: u16,
        retry_after: Option<Duration>,
        body: Bytes,
    },
    Timeout,
    /// `sent` is false only when no connection was ever established.
    Cut {
        sent: bool,
        detail: String,
    },
}

/// Bookkeeping shared by the loop and the outcome record.
struct Progress {
    started: Instant,
    attempts: u32,
    limiter_wait: Duration,
}

impl LeverClient {
    /// One logical call, in a span that names the endpoint and its method
    /// (never the URL: it holds candidate ids; never a token).
    #[tracing::instrument(
        name = "lever_call",
        level = "debug",
        skip_all,
        fields(endpoint = req.endpoint, method = %req.method)
    )]
    pub(crate) async fn call(&self, mut req: Request) -> Result<(u16, Bytes), LeverError> {
        if req.is_write()
            && let Some(user) = &self.inner.config.perform_as
        {
            req.query.push(("perform_as", user.clone()));
        }
        let mut progress = Progress {
            started: Instant::now(),
            attempts: 0,
            limiter_wait: Duration::ZERO,
        };
        let result = self.call_loop(&req, &mut progress).await;
        self.record(&req, &progress, &result);
        result
    }

    async fn call_loop(
        &self,
        req: &Request,
        progress: &mut Progress,
    ) -> Result<(u16, Bytes), LeverError> {
        let policy = &self.inner.config.retry;
        let mut token = self.inner.tokens.access_token().await?;
        let mut refreshed = false;
        loop {
            progress.attempts += 1;
            let waited = Instant::now();
            self.inner.limiter.until_ready().await;
            progress.limiter_wait += waited.elapsed();
            metrics::record_limiter_wait(waited.elapsed());
            // Checked after the limiter's wait, before every send (retries
            // included): the lease may have moved on meanwhile.
            if req.is_write() && !self.fence_open().await {
                return Err(LeverError::Fenced);
            }

            let sent_at = std::time::SystemTime::now();
            let span = client_span(req, progress.attempts);
            let attempt = self.attempt(req, &token).instrument(span.clone()).await;
            end_client_span(&span, &attempt);
            self.note_attempt(req, progress.attempts, sent_at, &attempt);
            let (failure, retry_after) = match attempt {
                Attempt::Answer { status, body, .. } if (200..300).contains(&status) => {
                    return Ok((status, body));
                }
                Attempt::Answer { status: 401, .. } => {
                    if refreshed {
                        return Err(LeverError::NeedsReauth(
                            "Lever refused a freshly refreshed token".to_owned(),
                        ));
                    }
                    refreshed = true;
                    metrics::record_retry(req.endpoint, "unauthorized");
                    token = self.inner.tokens.refresh_after_unauthorized(&token).await?;
                    continue;
                }
                Attempt::Answer {
                    status: 429,
                    retry_after,
                    ..
                } => (Failure::Throttled, retry_after),
                Attempt::Answer {
                    status,
                    retry_after,
                    ..
                } if status >= 500 => {
                    if req.is_write() {
                        return Err(unknown(req, format!("HTTP {status}"), false));
                    }
                    (Failure::Status(status), retry_after)
                }
                Attempt::Answer { status, body, .. } => return Err(api_error(req, status, &body)),
                Attempt::Timeout => {
                    if req.is_write() {
                        return Err(unknown(req, "timed out after sending".to_owned(), true));
                    }
                    (Failure::Timeout, None)
                }
                Attempt::Cut { sent, detail } => {
                    if req.is_write() && sent {
                        return Err(unknown(req, format!("connection cut: {detail}"), true));
                    }
                    (Failure::Connection(detail), None)
                }
            };
            let delay = policy.delay(progress.attempts - 1, retry_after);
            let budget = if req.is_write() {
                policy.max_total.min(WRITE_RETRY_BUDGET)
            } else {
                policy.max_total
            };
            let out_of_time = progress.started.elapsed() + delay > budget;
            if progress.attempts >= policy.max_attempts || out_of_time {
                return Err(LeverError::Exhausted {
                    endpoint: req.endpoint,
                    attempts: progress.attempts,
                    last: failure,
                });
            }
            metrics::record_retry(req.endpoint, reason(&failure));
            tracing::debug!(endpoint = req.endpoint, %failure, ?delay, "retrying Lever call");
            actix_rt::time::sleep(delay).await;
        }
    }

    async fn fence_open(&self) -> bool {
        match &self.inner.config.fence {
            Some(fence) => fence().await,
            None => true,
        }
    }

    async fn attempt(&self, req: &Request, token: &SecretString) -> Attempt {
        let config = &self.inner.config;
        let url = format!("{}{}", config.api_url.trim_end_matches('/'), req.path);
        let mut builder = config
            .http
            .client()
            .request(req.method.clone(), url)
            .insert_header(("Authorization", format!("Bearer {}", token.expose_secret())))
            .insert_header(("Accept", "application/json"));
        if !req.query.is_empty() {
            builder = match builder.query(&req.query) {
                Ok(b) => b,
                Err(e) => {
                    return Attempt::Cut {
                        sent: false,
                        detail: format!("bad query: {e}"),
                    };
                }
            };
        }
        let exchange = async {
            let sent = match &req.body {
                Some(body) => {
                    let kind = req.content_type.as_deref().unwrap_or("application/json");
                    builder
                        .insert_header(("Content-Type", kind))
                        .send_body(body.clone())
                        .await
                }
                None => builder.send().await,
            };
            let mut resp = match sent {
                Ok(resp) => resp,
                Err(e) => return send_error(e),
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            match resp.body().limit(MAX_BODY).await {
                Ok(body) => Attempt::Answer {
                    status,
                    retry_after,
                    body,
                },
                Err(e) => Attempt::Cut {
                    sent: true,
                    detail: format!("body after HTTP {status}: {e}"),
                },
            }
        };
        // awc's own timeout covers the head; this one also covers the body.
        actix_rt::time::timeout(config.http.request_timeout, exchange)
            .await
            .unwrap_or(Attempt::Timeout)
    }

    /// Hands one attempt to the recorder, if any.
    fn note_attempt(
        &self,
        req: &Request,
        attempt: u32,
        sent_at: std::time::SystemTime,
        outcome: &Attempt,
    ) {
        let Some(recorder) = &self.inner.config.recorder else {
            return;
        };
        let status = match outcome {
            Attempt::Answer { status, .. } => Some(*status),
            Attempt::Timeout | Attempt::Cut { .. } => None,
        };
        recorder(&AttemptRecord {
            route: route(&req.method, &req.path),
            status,
            attempt,
            sent_at,
            elapsed: sent_at.elapsed().unwrap_or_default(),
        });
    }

    fn record(
        &self,
        req: &Request,
        progress: &Progress,
        result: &Result<(u16, Bytes), LeverError>,
    ) {
        let (status, result_name) = match result {
            Ok((status, _)) => (Some(*status), "ok"),
            Err(e) => (e.status(), result_kind(e)),
        };
        let outcome = CallOutcome {
            endpoint: req.endpoint,
            status,
            result: result_name,
            attempts: progress.attempts,
            retries: progress.attempts.saturating_sub(1),
            limiter_wait: progress.limiter_wait,
            elapsed: progress.started.elapsed(),
        };
        metrics::record_call(&outcome);
        if let Some(observer) = &self.inner.config.observer {
            observer(&outcome);
        }
    }
}

/// The words of Lever's paths; any other segment is an id.
const PATH_WORDS: &[&str] = &[
    "opportunities",
    "deleted",
    "postings",
    "stages",
    "stage",
    "archive_reasons",
    "users",
    "addLinks",
    "removeLinks",
    "addTags",
    "removeTags",
    "notes",
    "feedback",
    "feedback_templates",
    "files",
    "webhooks",
];

/// `GET /opportunities/{id}`: the method and the path with every segment
/// that is not one of Lever's path words replaced by `{id}`, so no
/// candidate, posting or webhook id reaches a record.
/// An attempt's client span, for exported traces only: the route with its
/// ids masked (never the URL, a query or a header), the attempt's number,
/// and later its status.
fn client_span(req: &Request, attempt: u32) -> tracing::Span {
    tracing::debug_span!(target: crate::TRACE_TARGET, "lever.request",
        otel.name = %route(&req.method, &req.path),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        http.request.method = %req.method,
        http.route = %masked_path(&req.path),
        http.response.status_code = tracing::field::Empty,
        lever.endpoint = req.endpoint,
        lever.attempt = attempt,
    )
}

/// Records how the attempt ended on its span: Lever's status, and an error
/// status for anything but a 2xx.
fn end_client_span(span: &tracing::Span, attempt: &Attempt) {
    if span.is_disabled() {
        return;
    }
    let status = match attempt {
        Attempt::Answer { status, .. } => Some(*status),
        Attempt::Timeout | Attempt::Cut { .. } => None,
    };
    if let Some(status) = status {
        span.record("http.response.status_code", status);
    }
    if !status.is_some_and(|s| (200..300).contains(&s)) {
        span.record("otel.status_code", "error");
    }
}

pub(crate) fn route(method: &Method, path: &str) -> String {
    format!("{method} {}", masked_path(path))
}

/// `path` with every segment that is not one of Lever's words replaced by
/// `{id}`.
fn masked_path(path: &str) -> String {
    let path: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match PATH_WORDS.contains(&s) {
            true => s,
            false => "{id}",
        })
        .collect();
    format!("/{}", path.join("/"))
}

fn send_error(e: SendRequestError) -> Attempt {
    match e {
        SendRequestError::Timeout => Attempt::Timeout,
        // awc reports a connection closed while waiting for the answer (the
        // request already written) as `Connect(Disconnected)`: ambiguous.
        SendRequestError::Connect(ConnectError::Disconnected) => Attempt::Cut {
            sent: true,
            detail: "connection closed before the answer".to_owned(),
        },
        // Nothing reached Lever: safe to resend even a write.
        SendRequestError::Connect(e) => Attempt::Cut {
            sent: false,
            detail: e.to_string(),
        },
        SendRequestError::Url(e) => Attempt::Cut {
            sent: false,
            detail: e.to_string(),
        },
        other => Attempt::Cut {
            sent: true,
            detail: other.to_string(),
        },
    }
}

fn unknown(req: &Request, detail: String, cut: bool) -> LeverError {
    LeverError::OutcomeUnknown {
        endpoint: req.endpoint,
        detail,
        cut,
    }
}

fn api_error(req: &Request, status: u16, body: &[u8]) -> LeverError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    LeverError::Api {
        endpoint: req.endpoint,
        status,
        code: parsed.code,
        message: parsed.message,
    }
}

fn reason(failure: &Failure) -> &'static str {
    match failure {
        Failure::Throttled => "throttled",
        Failure::Status(_) => "server_error",
        Failure::Timeout => "timeout",
        Failure::Connection(_) => "connection",
    }
}

fn result_kind(e: &LeverError) -> &'static str {
    match e {
        LeverError::NeedsReauth(_) => "needs_reauth",
        LeverError::OutcomeUnknown { .. } => "outcome_unknown",
        LeverError::Api { .. } => "client_error",
        LeverError::Exhausted { last, .. } => match last {
            Failure::Throttled => "throttled",
            Failure::Status(_) => "server_error",
            Failure::Timeout => "timeout",
            Failure::Connection(_) => "connection",
        },
        LeverError::Decode { .. } => "decode",
        LeverError::Fenced => "fenced",
        LeverError::OAuth { .. } | LeverError::Transport(_) | LeverError::Config(_) => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::{Method, route};

    #[test]
    fn a_route_keeps_lever_words_and_hides_every_id() {
        let opp = "250d8f03-738a-4bba-a671-8a3d73477145";
        assert_eq!(
            route(&Method::POST, &format!("/opportunities/{opp}/addLinks")),
            "POST /opportunities/{id}/addLinks"
        );
        assert_eq!(
            route(&Method::GET, &format!("/opportunities/{opp}")),
            "GET /opportunities/{id}"
        );
        assert_eq!(
            route(&Method::GET, "/opportunities/deleted"),
            "GET /opportunities/deleted"
        );
        assert_eq!(
            route(&Method::DELETE, "/webhooks/wh%201"),
            "DELETE /webhooks/{id}"
        );
        assert_eq!(route(&Method::GET, "/stages"), "GET /stages");
    }
}
