//! What every request is held to before a handler sees it (docs/contract/http-api.md; issue
//! 16): a path or query string that decodes to a NUL is refused (404 for the
//! path, which can name nothing; 400 for the query), and the body must arrive
//! within [`BODY_DEADLINE`] of the request, or reading it fails with 408 and
//! the connection is closed. The head has its own deadline
//! (`client_request_timeout`, set in `app.rs`), so a client that stalls
//! anywhere is dropped in bounded time and holds no descriptor for long.

use std::io;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::StreamExt;

use super::error::ApiError;
use crate::domain::text::{NUL_REASON, url_part_has_nul};

/// From the request head to the body's last byte. A webhook or admin body is
/// at most 64 KiB: ten seconds is generous on any link Lever or an admin uses.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Whether `e` is the body deadline passing.
pub fn is_body_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut)
}

/// The error for a body that did not arrive in time.
pub fn body_timeout() -> ApiError {
    ApiError::Other {
        status: actix_web::http::StatusCode::REQUEST_TIMEOUT,
        code: "request_timeout",
        message: format!(
            "the request body did not arrive within {} seconds",
            BODY_DEADLINE.as_secs()
        ),
    }
}

/// Middleware: refuse NULs in the URL, bound the time to read the body.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if let Some(refusal) = refuse_url(&req) {
        let res = refusal.error_response();
        return Ok(req.into_response(res).map_into_right_body());
    }
    crate::memory::own_headers(&mut req);
    let payload = req.take_payload();
    if !matches!(payload, Payload::None) {
        req.set_payload(with_deadline(payload, BODY_DEADLINE));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn refuse_url(req: &ServiceRequest) -> Option<ApiError> {
    if url_part_has_nul(req.path()) {
        return Some(ApiError::NotFound(format!("the path {NUL_REASON}")));
    }
    url_part_has_nul(req.query_string())
        .then(|| ApiError::InvalidQuery(format!("the query string {NUL_REASON}")))
}

/// actix-http's `BoxedPayloadStream`, which actix-web does not re-export.
type BoxedStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<actix_web::web::Bytes, PayloadError>>>,
>;

/// `payload`, failing with `TimedOut` once `after` has passed.
fn with_deadline(payload: Payload, after: Duration) -> Payload {
    let deadline = tokio::time::Instant::now() + after;
    let stream = futures_util::stream::unfold(Some(payload), move |state| async move {
        let mut payload = state?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let e = io::Error::new(io::ErrorKind::TimedOut, "body deadline passed");
                Some((Err(PayloadError::Io(e)), None))
            }
        }
    });
    let boxed: BoxedStream = Box::pin(stream);
    Payload::from(boxed)
}

/// How long a client has to send the request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// How long a closing connection may linger after its response.
pub const DISCONNECT_DEADLINE: Duration = Duration::from_secs(2);
/// Descriptors kept out of the connection cap: database pools, the embedded
/// cluster's pipes, outgoing Lever connections, log and data files.
const RESERVED_FDS: u64 = 512;

/// Raises the descriptor limit to its hard maximum and returns how many
/// client connections each of `workers` may hold so that together they never
/// exhaust it. Past the cap a worker stops accepting until connections close
/// (the kernel backlog holds new ones meanwhile), rather than failing every
/// `accept`, database connect and file open for lack of descriptors.
pub fn connections_per_worker(workers: usize) -> usize {
    let limit = raise_fd_limit();
    let budget = limit.saturating_sub(RESERVED_FDS).max(256);
    usize::try_from(budget / workers.max(1) as u64).unwrap_or(25_000)
}

fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}
