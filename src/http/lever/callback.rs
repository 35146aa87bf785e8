//! `GET /oauth/lever/callback`: Lever's OAuth redirect. Checks the state,
//! exchanges the code, refuses a Lever account another org holds (409), finds
//! the stage, registers the webhook, and only then stores everything in one
//! transaction, so a failure at any step leaves the connection as it was.
//! Answers a short HTML page, or JSON for `Accept: application/json`.

use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use crate::app::AppState;
use crate::connections::setup::{self, WebhookSetup};
use crate::db::models::connection::{Authorised, Connection, webhooks};
use crate::db::models::oauth_state::OAuthState;
use crate::domain::api_keys::digest;
use crate::domain::ids::ConnectionId;
use crate::domain::status::ConnectionStatus;
use crate::http::error::ApiError;
use crate::lever::{AuthorizeCallback, LeverError, TokenGrant, oauth};

fn invalid_state(message: &str) -> ApiError {
    ApiError::Other {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_state",
        message: message.to_owned(),
    }
}

#[get("/oauth/lever/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<AuthorizeCallback>,
) -> HttpResponse {
    let wants_json = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    // Set once the state is known to come from the console: the browser goes
    // back to the console's Lever page with the outcome.
    let mut back_to_console = None;
    let outcome = complete(&state, query.into_inner(), &mut back_to_console).await;
    if let Some(org) = back_to_console
        && !wants_json
    {
        return crate::console::lever::after_connect(org, &outcome);
    }
    match outcome {
        Ok(done) if wants_json => HttpResponse::Ok().json(done),
        Ok(done) => page(StatusCode::OK, "Lever is connected", &success_text(&done)),
        Err(e) if wants_json => e.error_response(),
        Err(e) => page(e.status_code(), "Lever was not connected", &e.to_string()),
    }
}

fn success_text(done: &serde_json::Value) -> String {
    match done["connection_status"]
        .as_str()
        .and_then(ConnectionStatus::parse)
    {
        Some(ConnectionStatus::Active) => {
            "Arkiter Live is connected to your Lever account. You can close this page.".into()
        }
        _ => format!(
            "Arkiter Live is connected, but needs one more step: {}",
            done["problems"][0]["message"]
                .as_str()
                .unwrap_or("see the connection page in Arkiter")
        ),
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\
             <h1>{t}</h1><p>{x}</p></body></html>",
            t = esc(title),
            x = esc(text)
        ))
}

/// Checks and consumes the state; returns the pending authorisation.
async fn take_state(state: &AppState, given: Option<&str>) -> Result<OAuthState, ApiError> {
    let given = given.ok_or_else(|| {
        invalid_state("the link has no state; start connecting again from Arkiter")
    })?;
    let d = digest(given);
    let found = state
        .db
        .run(move |c| {
            let found = OAuthState::find(c, &d)?;
            let fresh = found
                .as_ref()
                .is_some_and(|s| s.used_at.is_none() && s.expires_at > chrono::Utc::now());
            let consumed = fresh && OAuthState::consume(c, &d)?;
            Ok((found, consumed))
        })
        .await?;
    match found {
        (None, _) => Err(invalid_state(
            "this authorisation link is unknown; start connecting again from Arkiter",
        )),
        (Some(s), _) if s.used_at.is_some() => Err(invalid_state(
            "this authorisation link was already used; start connecting again from Arkiter",
        )),
        (Some(s), _) if s.expires_at <= chrono::Utc::now() => Err(invalid_state(
            "this authorisation link expired; start connecting again from Arkiter",
        )),
        (Some(_), false) => Err(invalid_state(
            "this authorisation link was already used; start connecting again from Arkiter",
        )),
        (Some(s), true) => Ok(s),
    }
}

async fn complete(
    state: &AppState,
    cb: AuthorizeCallback,
    back_to_console: &mut Option<Uuid>,
) -> Result<serde_json::Value, ApiError> {
    let pending = take_state(state, cb.state.as_deref()).await?;
    if pending.from_console {
        *back_to_console = Some(pending.org_id);
    }
    let flow_state = cb.state.clone().unwrap_or_default();
    let code = cb.into_code().map_err(|e| ApiError::Other {
        status: StatusCode::FORBIDDEN,
        code: if e.is_not_super_admin() {
            "not_super_admin"
        } else {
            "access_denied"
        },
        message: e.plain_message(),
    })?;
    let oauth_cfg = state
        .handles
        .env()
        .oauth
        .clone()
        .ok_or_else(super::connect::lever_not_configured)?;
    let grant = oauth::exchange_code(&state.handles.env().http, &oauth_cfg, &code, &flow_state)
        .await
        .map_err(exchange_error)?;
    let org = pending.org_id;
    let account = grant.account_id.clone();
    if let Some(acc) = account.clone() {
        let holder = state
            .db
            .run(move |c| Ok(Connection::holder_of_account(c, &acc, org)?))
            .await?;
        if holder.is_some() {
            return Err(account_taken());
        }
    }
    let conn_id = pending.connection_id;
    let existing = state
        .db
        .run(move |c| Ok(Connection::find(c, conn_id)?))
        .await?;
    let handle = state.handles.get(ConnectionId(conn_id))?;
    let client = handle.client_with_token(grant.access_token.clone());
    // Stage ids belong to one Lever account: the stored one is kept only
    // when reconnecting the same account and no stage name was asked for.
    let same_account = account.is_some() && account == existing.lever_account_id;
    let keep_stored = same_account && pending.stage_name.is_none();
    let wanted_id = pending
        .stage_id
        .clone()
        .or(existing.stage_id.clone().filter(|_| keep_stored));
    let wanted_name = pending
        .stage_name
        .clone()
        .unwrap_or(existing.stage_name.clone());
    let stage = setup::find_stage(&client, wanted_id.as_deref(), &wanted_name).await?;
    let url = format!("{}/webhooks/lever/{conn_id}", state.urls.public);
    let hook = setup::register_webhook(&client, &url).await?;
    let has_manual = state
        .db
        .run(move |c| Ok(webhooks::live(c, conn_id)?.iter().any(|w| !w.managed)))
        .await?;
    let registered = matches!(hook, WebhookSetup::Registered { .. });
    let setup_state = setup::setup_state(
        stage.as_ref(),
        wanted_id.as_deref(),
        &wanted_name,
        registered || has_manual,
        &url,
    );
    store(
        state,
        conn_id,
        &grant,
        account,
        setup_state.clone(),
        hook,
        url,
    )
    .await?;
    handle.tokens().forget();
    crate::ingest::invalidate(ConnectionId(conn_id));
    state.wake.wake(ConnectionId(conn_id));
    tracing::info!(connection_id = %conn_id, status = %setup_state.status, "Lever connected");
    Ok(json!({
        "status": "connected",
        "org_id": org,
        "connection_id": conn_id,
        "connection_status": setup_state.status,
        "problems": setup_state.problems,
    }))
}

fn account_taken() -> ApiError {
    ApiError::Conflict(
        "this Lever account is already connected to another Arkiter organisation; disconnect it there first".into(),
    )
}

fn exchange_error(e: LeverError) -> ApiError {
    match e {
        LeverError::OAuth { .. } | LeverError::NeedsReauth(_) => ApiError::Other {
            status: StatusCode::BAD_REQUEST,
            code: "code_exchange_failed",
            message: "Lever did not accept the authorisation code (it may have expired); start connecting again".into(),
        },
        other => other.into(),
    }
}

async fn store(
    state: &AppState,
    conn_id: Uuid,
    grant: &TokenGrant,
    account: Option<String>,
    setup_state: crate::db::models::connection::SetupState,
    hook: WebhookSetup,
    url: String,
) -> Result<(), ApiError> {
    let access_enc = state.secrets.seal(grant.access_token.expose_secret());
    let refresh_enc = grant
        .refresh_token
        .as_ref()
        .map(|r| state.secrets.seal(r.expose_secret()));
    let hook_enc = match &hook {
        WebhookSetup::Registered {
            lever_id,
            signature_token,
        } => Some((lever_id.clone(), state.secrets.seal(signature_token))),
        WebhookSetup::Unavailable(_) => None,
    };
    let expires_at = grant.expires_at;
    let scopes = grant.scope.clone();
    state
        .db
        .transaction(move |c| -> Result<(), ApiError> {
            if let Some(acc) = &account {
                let org = Connection::find(c, conn_id)?.org_id;
                if Connection::holder_of_account(c, acc, org)?.is_some() {
                    return Err(account_taken());
                }
            }
            Connection::store_authorisation(
                c,
                conn_id,
                &Authorised {
                    lever_account_id: account.as_deref(),
                    access_enc,
                    refresh_enc,
                    expires_at,
                    scopes: scopes.as_deref(),
                    setup: &setup_state,
                },
            )?;
            if let Some((lever_id, sealed)) = hook_enc {
                webhooks::retire_managed(c, conn_id)?;
                webhooks::insert(c, conn_id, Some(&lever_id), &url, true, &sealed)?;
            }
            // Work kept while disconnected or re-authorising is due again now.
            crate::pipeline::store::resume_account(c, conn_id)?;
            // Sweep right after (re)connecting: candidates moved meanwhile.
            crate::sweep::schedule::due_now(c, conn_id)?;
            Ok(())
        })
        .await
}
