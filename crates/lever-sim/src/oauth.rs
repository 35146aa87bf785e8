//! The simulator's OAuth server: `GET /authorize` and `POST /oauth/token`.
//!
//! `/authorize` checks the parameters, picks the "logged-in" account (the
//! control API's login, else the last created account), and answers per the
//! account's [`AuthorizeMode`]: a code, `access_denied`, or the refusal of a
//! user who is not a Super Admin. `/oauth/token` takes form or JSON bodies,
//! issues JWT-shaped access tokens carrying the account id claim, and
//! rotates refresh tokens (the used one dies).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::exec::{CallInfo, Reply, execute, record, refuse};
use super::state::{
    AccessGrant, AuthorizeMode, CodeGrant, RefreshGrant, SimState, now_ms, random_hex,
};
use super::{Sim, SimOAuthClient};

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/authorize", web::get().to(authorize))
        .route("/oauth/token", web::post().to(token));
}

#[derive(Debug, Default, Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

async fn authorize(req: HttpRequest, sim: web::Data<Sim>) -> HttpResponse {
    let query = web::Query::<AuthorizeQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let account_id = {
        let state = sim.lock();
        state.login.clone().or_else(|| state.last_created.clone())
    };
    let info = CallInfo {
        account_id: account_id.clone(),
        perform_as: None,
    };
    let client = match check_authorize(&sim, &query) {
        Ok(client) => client,
        Err(reply) => return refuse(&sim, &req, &info, reply),
    };
    let Some(account_id) = account_id else {
        return refuse(
            &sim,
            &req,
            &info,
            oauth_error(400, "invalid_request", "no Lever account is logged in"),
        );
    };
    let redirect = query.redirect_uri.clone().unwrap_or_default();
    let state_param = query.state.clone().unwrap_or_default();
    let scope = query.scope.clone().unwrap_or_default();
    let location = {
        let mut state = sim.lock();
        let mode = state
            .accounts
            .get(&account_id)
            .map(|a| a.authorize_mode)
            .unwrap_or_default();
        let withheld = state
            .accounts
            .get(&account_id)
            .map(|a| a.withheld_scopes.clone())
            .unwrap_or_default();
        let scope = scope
            .split_whitespace()
            .filter(|s| !withheld.iter().any(|w| w == s))
            .collect::<Vec<_>>()
            .join(" ");
        let params: Vec<(&str, String)> = match mode {
            AuthorizeMode::Consent => {
                let code = random_hex(16);
                state.codes.insert(
                    code.clone(),
                    CodeGrant {
                        account_id: account_id.clone(),
                        client_id: client.client_id.clone(),
                        redirect_uri: redirect.clone(),
                        scope,
                        expires_at_ms: now_ms() + 10 * 60 * 1000,
                        code_challenge: query.code_challenge.clone(),
                    },
                );
                vec![("code", code), ("state", state_param)]
            }
            AuthorizeMode::Deny => vec![
                ("error", "access_denied".to_owned()),
                ("error_description", "User did not authorize the request".to_owned()),
                ("state", state_param),
            ],
            AuthorizeMode::NotSuperAdmin => vec![
                ("error", "access_denied".to_owned()),
                (
                    "error_description",
                    "Only Super Admins can authorize this application; the user is not a Super Admin".to_owned(),
                ),
                ("state", state_param),
            ],
        };
        drop(state);
        append_query(&redirect, &params)
    };
    let info = CallInfo {
        account_id: Some(account_id),
        perform_as: None,
    };
    record(&sim, &req, &info, 302);
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn check_authorize(sim: &Sim, q: &AuthorizeQuery) -> Result<SimOAuthClient, Reply> {
    let client = q
        .client_id
        .as_deref()
        .and_then(|id| sim.config.oauth_clients.iter().find(|c| c.client_id == id))
        .ok_or_else(|| oauth_error(400, "invalid_request", "unknown client_id"))?;
    let redirect = q.redirect_uri.as_deref().unwrap_or_default();
    let registered =
        client.redirect_uris.is_empty() || client.redirect_uris.iter().any(|r| r == redirect);
    if redirect.is_empty() || url::Url::parse(redirect).is_err() || !registered {
        return Err(oauth_error(
            400,
            "invalid_request",
            "redirect_uri is not registered",
        ));
    }
    if q.response_type.as_deref() != Some("code") {
        return Err(oauth_error(
            400,
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    if q.state.as_deref().unwrap_or_default().is_empty() {
        return Err(oauth_error(400, "invalid_request", "state is required"));
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return Err(oauth_error(
            400,
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    if q.audience.as_deref() != Some(format!("{}/", sim.api_url()).as_str()) {
        return Err(oauth_error(
            400,
            "invalid_request",
            "audience must be the API URL with a trailing slash",
        ));
    }
    if q.scope.as_deref().unwrap_or_default().trim().is_empty() {
        return Err(oauth_error(400, "invalid_scope", "scope is required"));
    }
    Ok(client.clone())
}

fn append_query(base: &str, params: &[(&str, String)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
            url.into()
        }
        Err(_) => base.to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
    code_verifier: Option<String>,
}

fn parse_token_request(req: &HttpRequest, body: &[u8]) -> Option<TokenRequest> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        serde_json::from_slice(body).ok()
    } else {
        serde_urlencoded::from_bytes(body).ok()
    }
}

async fn token(req: HttpRequest, body: web::Bytes, sim: web::Data<Sim>) -> HttpResponse {
    let sim: Arc<Sim> = sim.into_inner();
    let Some(tr) = parse_token_request(&req, &body) else {
        let info = CallInfo {
            account_id: None,
            perform_as: None,
        };
        return refuse(
            &sim,
            &req,
            &info,
            oauth_error(400, "invalid_request", "malformed token request"),
        );
    };
    // Identify the account first so its faults and log entry apply.
    let account_id = {
        let state = sim.lock();
        match tr.grant_type.as_deref() {
            Some("authorization_code") => tr
                .code
                .as_ref()
                .and_then(|c| state.codes.get(c))
                .map(|g| g.account_id.clone()),
            Some("refresh_token") => tr.refresh_token.as_ref().and_then(|t| {
                state
                    .refresh
                    .get(t)
                    .map(|g| g.account_id.clone())
                    .or_else(|| state.dead_refresh.get(t).cloned())
            }),
            _ => None,
        }
    };
    let info = CallInfo {
        account_id,
        perform_as: None,
    };
    let client_ok = sim.config.oauth_clients.iter().any(|c| {
        Some(c.client_id.as_str()) == tr.client_id.as_deref()
            && Some(c.client_secret.as_str()) == tr.client_secret.as_deref()
    });
    if !client_ok {
        return refuse(
            &sim,
            &req,
            &info,
            oauth_error(401, "access_denied", "Unauthorized"),
        );
    }
    let ttl_ms = i64::try_from(sim.config.access_token_ttl.as_millis()).unwrap_or(i64::MAX);
    let issuer = format!("{}/", sim.base_url());
    let audience = format!("{}/", sim.api_url());
    execute(&sim, &req, info, move |state| {
        match tr.grant_type.as_deref() {
            Some("authorization_code") => exchange(state, &tr, ttl_ms, &issuer, &audience),
            Some("refresh_token") => refresh(state, &tr, ttl_ms, &issuer, &audience),
            _ => oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            ),
        }
    })
    .await
}

fn exchange(state: &mut SimState, tr: &TokenRequest, ttl_ms: i64, iss: &str, aud: &str) -> Reply {
    let grant = tr.code.as_ref().and_then(|c| state.codes.remove(c));
    let Some(grant) = grant.filter(|g| {
        g.expires_at_ms > now_ms()
            && Some(g.client_id.as_str()) == tr.client_id.as_deref()
            && Some(g.redirect_uri.as_str()) == tr.redirect_uri.as_deref()
            && pkce_holds(g.code_challenge.as_deref(), tr.code_verifier.as_deref())
    }) else {
        return oauth_error(403, "invalid_grant", "Invalid authorization code");
    };
    issue(
        state,
        &grant.account_id,
        &grant.client_id,
        &grant.scope,
        ttl_ms,
        iss,
        aud,
    )
}

fn refresh(state: &mut SimState, tr: &TokenRequest, ttl_ms: i64, iss: &str, aud: &str) -> Reply {
    // Rotation: the used refresh token dies whatever happens next.
    let grant = tr
        .refresh_token
        .as_ref()
        .and_then(|t| state.refresh.remove(t));
    if let (Some(token), Some(g)) = (&tr.refresh_token, &grant) {
        state
            .dead_refresh
            .insert(token.clone(), g.account_id.clone());
    }
    let Some(grant) = grant.filter(|g| Some(g.client_id.as_str()) == tr.client_id.as_deref())
    else {
        return oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.");
    };
    issue(
        state,
        &grant.account_id,
        &grant.client_id,
        &grant.scope,
        ttl_ms,
        iss,
        aud,
    )
}

fn issue(
    state: &mut SimState,
    account_id: &str,
    client_id: &str,
    scope: &str,
    ttl_ms: i64,
    iss: &str,
    aud: &str,
) -> Reply {
    let expires_at_ms = now_ms().saturating_add(ttl_ms);
    let access = mint_jwt(account_id, client_id, scope, expires_at_ms / 1000, iss, aud);
    state.access.insert(
        access.clone(),
        AccessGrant {
            account_id: account_id.to_owned(),
            scope: scope.to_owned(),
            expires_at_ms,
        },
    );
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": ttl_ms / 1000,
    });
    if scope.split_whitespace().any(|s| s == "offline_access") {
        let refresh = format!("v1.{}", random_hex(32));
        state.refresh.insert(
            refresh.clone(),
            RefreshGrant {
                account_id: account_id.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
            },
        );
        if let Some(obj) = body.as_object_mut() {
            obj.insert("refresh_token".to_owned(), refresh.into());
        }
    }
    Reply::json(200, body)
}

/// A JWT-shaped token: real header and claims, random signature part.
fn mint_jwt(
    account_id: &str,
    client_id: &str,
    scope: &str,
    exp: i64,
    iss: &str,
    aud: &str,
) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    let claims = json!({
        "https://oauth.lever.co/accountId": account_id,
        "https://oauth.lever.co/clientId": client_id,
        "iss": iss,
        "aud": [aud],
        "scope": scope,
        "exp": exp,
        "iat": now_ms() / 1000,
        "jti": random_hex(8),
    });
    let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(&header),
        enc(&claims),
        URL_SAFE_NO_PAD.encode(random_hex(32))
    )
}

/// RFC 7636 as Auth0 applies it: a code issued with a challenge is redeemed
/// only with the verifier whose S256 is that challenge (the code is bound to
/// the flow that asked for it); a code issued without one needs none.
fn pkce_holds(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, _) => true,
        (Some(c), Some(v)) => lever_api::oauth::pkce::challenge(v) == c,
        (Some(_), None) => false,
    }
}
