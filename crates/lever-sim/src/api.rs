//! The simulated Data API under `/v1`: Bearer auth, the per-account token
//! bucket (429 without `Retry-After`, as Lever documents), the body limit
//! (413 over [`MAX_BODY`]), faults, then the resource handlers in
//! [`super::ops`]. Every call lands in the call log.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt as _;

use super::Sim;
use super::exec::{CallInfo, Reply, execute, refuse};
use super::ops::{self, Query};
use super::state::{SimState, now_ms};

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/v1").default_service(web::to(dispatch)));
}

/// The largest request body a `/v1` call may have: Lever's 30 MB limit on
/// an uploaded file.
pub(crate) const MAX_BODY: usize = 30 * 1024 * 1024;

/// A request body, read to its end; what is over [`MAX_BODY`] is read and
/// dropped (so the client gets to read the 413), not kept.
enum Body {
    Read(Vec<u8>),
    TooLarge,
    /// The client stopped sending mid-body.
    Broken,
}

async fn read_body(mut payload: web::Payload) -> Body {
    let mut kept = Vec::new();
    let mut too_large = false;
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Body::Broken;
        };
        too_large = too_large || kept.len() + chunk.len() > MAX_BODY;
        if too_large {
            kept = Vec::new();
        } else {
            kept.extend_from_slice(&chunk);
        }
    }
    if too_large {
        Body::TooLarge
    } else {
        Body::Read(kept)
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The account a valid, unexpired token belongs to, and its scopes; `Err`
/// carries the account of an expired token (for the log) or nothing.
fn authenticate(state: &SimState, token: Option<&str>) -> Result<(String, String), Option<String>> {
    let grant = token.and_then(|t| state.access.get(t)).ok_or(None)?;
    if grant.expires_at_ms <= now_ms() || !state.accounts.contains_key(&grant.account_id) {
        return Err(Some(grant.account_id.clone()));
    }
    Ok((grant.account_id.clone(), grant.scope.clone()))
}

async fn dispatch(req: HttpRequest, payload: web::Payload, sim: web::Data<Sim>) -> HttpResponse {
    let sim: Arc<Sim> = sim.into_inner();
    let body = read_body(payload).await;
    let query = Query::parse(req.query_string());
    let perform_as = query.get("perform_as").map(str::to_owned);
    let token = bearer(&req);
    let auth = authenticate(&sim.lock(), token.as_deref());
    let (account_id, scope) = match auth {
        Ok(granted) => granted,
        Err(account_id) => {
            let info = CallInfo {
                account_id,
                perform_as,
            };
            let reply = Reply::error(401, "UnauthorizedError", "A valid API key was not provided");
            return refuse(&sim, &req, &info, reply);
        }
    };
    let info = CallInfo {
        account_id: Some(account_id.clone()),
        perform_as: perform_as.clone(),
    };
    let allowed = sim
        .lock()
        .accounts
        .get_mut(&account_id)
        .is_some_and(|a| a.bucket.try_take());
    if !allowed {
        let reply = Reply::error(429, "TooManyRequests", "Rate limit exceeded");
        return refuse(&sim, &req, &info, reply);
    }
    let body = match body {
        Body::Read(body) => body,
        Body::TooLarge => {
            let message = format!("The request body is larger than {MAX_BODY} bytes (30 MB)");
            let reply = Reply::error(413, "RequestEntityTooLarge", message);
            return refuse(&sim, &req, &info, reply);
        }
        Body::Broken => {
            let reply = Reply::bad_request("The request body could not be read");
            return refuse(&sim, &req, &info, reply);
        }
    };
    let path: Vec<String> = req
        .path()
        .trim_start_matches("/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let method = req.method().as_str().to_owned();
    let double_data = sim.config.webhook_create_double_data;
    let call = ops::ApiCall {
        account_id,
        scope,
        method,
        path,
        query,
        content_type: req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        perform_as,
        double_data,
        api_url: sim.api_url(),
    };
    execute(&sim, &req, info, move |state| ops::route(state, &call)).await
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
