//! Runs one simulated call: injected faults, the state change, the call-log
//! entry, and the HTTP answer (including a "dropped" connection).

use std::io;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use super::Sim;
use super::delivery::{self, PendingDelivery};
use super::faults::{FaultAction, take_fault};
use super::state::{CallRecord, SimState, now_ms};

/// What a handler decided: status, JSON body (none for 204), or raw bytes
/// (a file download), deliveries to start once the state lock is released.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub raw: Option<RawBody>,
    pub deliveries: Vec<PendingDelivery>,
}

/// A body that is not JSON: its content type and bytes.
pub(crate) struct RawBody {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            raw: None,
            deliveries: Vec::new(),
        }
    }

    /// A 200 with `bytes` as they are, typed `content_type`.
    pub fn bytes(content_type: &str, bytes: Vec<u8>) -> Self {
        Self {
            status: 200,
            body: None,
            raw: Some(RawBody {
                content_type: content_type.to_owned(),
                bytes,
            }),
            deliveries: Vec::new(),
        }
    }

    pub fn data(body: Value) -> Self {
        Self::json(200, json!({ "data": body }))
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            raw: None,
            deliveries: Vec::new(),
        }
    }

    /// Lever's `{code,message}` error.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(status, json!({ "code": code, "message": message.into() }))
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::error(
            404,
            "ResourceNotFound",
            format!("{kind} {id} was not found"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::error(400, "BadRequestError", message)
    }
}

/// Who made the call, for the log and for fault matching.
pub(crate) struct CallInfo {
    pub account_id: Option<String>,
    pub perform_as: Option<String>,
}

/// Logs and answers a call that never reached `apply` (401, 429, bad input).
pub(crate) fn refuse(sim: &Sim, req: &HttpRequest, info: &CallInfo, reply: Reply) -> HttpResponse {
    log(&mut sim.lock(), req, info, reply.status);
    respond(reply)
}

/// Logs a call answered outside [`execute`] (e.g. the authorize redirect).
pub(crate) fn record(sim: &Sim, req: &HttpRequest, info: &CallInfo, status: u16) {
    log(&mut sim.lock(), req, info, status);
}

/// Applies `apply` to the state under the account's faults.
///
/// A call held by a latency fault runs, from the hold to the apply, in a
/// task of its own: if the client gives up (a timeout, a crash), the write
/// still lands when the hold ends, as a request already accepted by Lever's
/// servers would, and the call log shows when.
pub(crate) async fn execute(
    sim: &Arc<Sim>,
    req: &HttpRequest,
    info: CallInfo,
    apply: impl FnOnce(&mut SimState) -> Reply + 'static,
) -> HttpResponse {
    let received_ms = now_ms();
    let fault = info.account_id.as_ref().and_then(|id| {
        let mut state = sim.lock();
        let account = state.accounts.get_mut(id)?;
        take_fault(
            &mut account.faults,
            req.method().as_str(),
            req.path(),
            now_ms(),
        )
    });
    let call = Logged::new(req, info, received_ms);
    match fault {
        Some(FaultAction::Latency { ms }) => {
            let held = actix_rt::spawn(hold_then_apply(sim.clone(), call, ms, apply));
            match held.await {
                Ok(reply) => respond(reply),
                Err(_) => respond(Reply::error(
                    500,
                    "InternalServerError",
                    "the held call failed",
                )),
            }
        }
        Some(FaultAction::Status { status }) => {
            call.log(&mut sim.lock(), status);
            respond(fault_reply(status))
        }
        Some(FaultAction::Drop) => {
            call.log(&mut sim.lock(), 0);
            dropped(req)
        }
        Some(FaultAction::ApplyThenStatus { status }) => {
            let _ = apply_and_log(sim, &call, apply, Some(status));
            respond(fault_reply(status))
        }
        Some(FaultAction::ApplyThenDrop) => {
            let _ = apply_and_log(sim, &call, apply, Some(0));
            dropped(req)
        }
        None => respond(apply_and_log(sim, &call, apply, None)),
    }
}

/// What the call log records of a request, taken before any hold.
struct Logged {
    method: String,
    path: String,
    query: String,
    info: CallInfo,
    received_ms: i64,
}

impl Logged {
    fn new(req: &HttpRequest, info: CallInfo, received_ms: i64) -> Self {
        Self {
            method: req.method().to_string(),
            path: req.path().to_owned(),
            query: req.query_string().to_owned(),
            info,
            received_ms,
        }
    }

    fn log(&self, state: &mut SimState, status: u16) {
        state.log_call(CallRecord {
            seq: 0,
            received_ms: self.received_ms,
            at_ms: now_ms(),
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            status,
            account_id: self.info.account_id.clone(),
            perform_as: self.info.perform_as.clone(),
        });
    }
}

/// Applies the call and logs it (`logged` overrides the status the log
/// shows, for faults that answer otherwise), then sends its deliveries.
fn apply_and_log(
    sim: &Arc<Sim>,
    call: &Logged,
    apply: impl FnOnce(&mut SimState) -> Reply,
    logged: Option<u16>,
) -> Reply {
    let reply = {
        let mut state = sim.lock();
        let reply = apply(&mut state);
        call.log(&mut state, logged.unwrap_or(reply.status));
        reply
    };
    let Reply {
        status,
        body,
        raw,
        deliveries,
    } = reply;
    delivery::spawn_all(sim, deliveries);
    Reply {
        status,
        body,
        raw,
        deliveries: Vec::new(),
    }
}

/// A held call: waits out the hold (listed as in flight meanwhile), then
/// applies it.
async fn hold_then_apply(
    sim: Arc<Sim>,
    call: Logged,
    ms: u64,
    apply: impl FnOnce(&mut SimState) -> Reply,
) -> Reply {
    let entry = (
        call.info.account_id.clone(),
        call.method.clone(),
        call.path.clone(),
    );
    let held = Held::new(&sim, entry);
    actix_rt::time::sleep(std::time::Duration::from_millis(ms)).await;
    drop(held);
    apply_and_log(&sim, &call, apply, None)
}

/// A call held by a latency fault, listed in [`SimState::held`] until the
/// hold ends.
struct Held<'a> {
    sim: &'a Sim,
    entry: (Option<String>, String, String),
}

impl<'a> Held<'a> {
    fn new(sim: &'a Sim, entry: (Option<String>, String, String)) -> Self {
        sim.lock().held.push(entry.clone());
        Self { sim, entry }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut state = self.sim.lock();
        if let Some(i) = state.held.iter().position(|h| *h == self.entry) {
            state.held.remove(i);
        }
    }
}

fn fault_reply(status: u16) -> Reply {
    let code = match status {
        429 => "TooManyRequests",
        500..=599 => "InternalServerError",
        401 => "UnauthorizedError",
        _ => "InjectedFault",
    };
    Reply::error(status, code, format!("simulated fault {status}"))
}

fn log(state: &mut SimState, req: &HttpRequest, info: &CallInfo, status: u16) {
    let call = Logged::new(
        req,
        CallInfo {
            account_id: info.account_id.clone(),
            perform_as: info.perform_as.clone(),
        },
        now_ms(),
    );
    call.log(state, status);
}

pub(crate) fn respond(reply: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    match (reply.body, reply.raw) {
        (Some(body), _) => builder.json(body),
        (None, Some(raw)) => builder.content_type(raw.content_type).body(raw.bytes),
        (None, None) => builder.finish(),
    }
}

/// The raw socket of a plain-TCP connection, recorded at accept time so a
/// "drop" fault can cut it without sending a response.
#[derive(Clone, Copy)]
pub(crate) struct ConnSocket(#[cfg(unix)] pub std::os::fd::RawFd);

/// `HttpServer::on_connect` hook recording [`ConnSocket`].
pub(crate) fn remember_socket(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    #[cfg(unix)]
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd as _;
        ext.insert(ConnSocket(tcp.as_raw_fd()));
    }
}

/// Cuts the connection with no response: a TCP shutdown of the socket when
/// it is known (plain HTTP), else a body that fails at once, which makes
/// actix abort the connection after the head (TLS).
pub(crate) fn dropped(req: &HttpRequest) -> HttpResponse {
    #[cfg(unix)]
    if let Some(ConnSocket(fd)) = req.conn_data::<ConnSocket>().copied() {
        // SAFETY: the fd belongs to the connection serving this very
        // request, so it is open; shutdown(2) only changes socket state
        // (no memory is touched) and the fd stays owned by actix.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
    failing_body()
}

fn failing_body() -> HttpResponse {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "simulated dropped connection",
        ))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream)
}
