//! The return from Lever's consent screen: checks the state, exchanges the
//! code, refuses a Lever account another org holds (a conflict), finds the
//! stage, registers the webhook, and only then stores everything in one
//! transaction, so a failure at any step leaves the connection as it was.

use super::webhook_setup;
use crate::connections::setup::{self, WantedStage, WebhookSetup};
use crate::db::models::connection::{Authorised, Connection, webhooks};
use crate::db::models::oauth_state::OAuthState;
use crate::domain::api_keys::digest;
use crate::domain::ids::{ConnectionId, OrgId};
use crate::domain::status::ConnectionStatus;
use crate::lever::{AuthorizeCallback, LeverError, TokenGrant, oauth};
use crate::service::{Kind, ServiceError};
use crate::state::AppState;
use secrecy::ExposeSecret;
use serde::Serialize;
use uuid::Uuid;

/// A connection completed (its setup may still need a step: `problems`).
#[derive(Debug, Clone, Serialize)]
pub struct Connected {
    /// Always `connected`.
    pub status: &'static str,
    pub org_id: Uuid,
    pub connection_id: Uuid,
    pub connection_status: ConnectionStatus,
    pub problems: serde_json::Value,
}

/// How a return from Lever ended, and where the person came from.
#[derive(Debug)]
pub struct Returned {
    /// The org whose console started this authorisation, if the console did:
    /// the browser goes back there.
    pub from_console: Option<OrgId>,
    pub outcome: Result<Connected, ServiceError>,
}

fn invalid_state(message: &str) -> ServiceError {
    ServiceError::new(Kind::BadRequest, "invalid_state", message)
}

/// Completes the authorisation Lever's redirect brings back.
#[tracing::instrument(skip_all)]
pub async fn complete(state: &AppState, cb: AuthorizeCallback) -> Returned {
    let mut from_console = None;
    let outcome = authorise(state, cb, &mut from_console).await;
    Returned {
        from_console,
        outcome,
    }
}

/// Checks and consumes the state; returns the pending authorisation.
async fn take_state(state: &AppState, given: Option<&str>) -> Result<OAuthState, ServiceError> {
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

async fn authorise(
    state: &AppState,
    cb: AuthorizeCallback,
    from_console: &mut Option<OrgId>,
) -> Result<Connected, ServiceError> {
    let pending = take_state(state, cb.state.as_deref()).await?;
    if pending.from_console {
        *from_console = Some(OrgId(pending.org_id));
    }
    let flow_state = cb.state.clone().unwrap_or_default();
    let code = cb.into_code().map_err(|e| {
        let code = if e.is_not_super_admin() {
            "not_super_admin"
        } else {
            "access_denied"
        };
        ServiceError::new(Kind::Forbidden, code, e.plain_message())
    })?;
    let oauth_cfg = state
        .handles
        .env()
        .oauth
        .clone()
        .ok_or_else(ServiceError::lever_not_configured)?;
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
    // Stage ids belong to one Lever account: the stored ones are kept only
    // when reconnecting the same account and no stage name was asked for.
    let same_account = account.is_some() && account == existing.lever_account_id;
    let keep_stored = same_account && pending.stage_name.is_none();
    let wanted = match (&pending.stage_id, &pending.stage_name) {
        (None, None) => existing
            .trigger_stages()
            .into_iter()
            .map(|s| WantedStage {
                id: s.id.filter(|_| keep_stored),
                name: s.name,
            })
            .collect(),
        (id, name) => vec![WantedStage {
            id: id.clone(),
            name: name.clone().unwrap_or(existing.stage_name.clone()),
        }],
    };
    let stages = setup::find_stages(&client, &wanted).await?;
    let url = state.urls.webhook(conn_id);
    // A sweep's repair may be replacing the webhooks right now: wait for
    // it, so the two never interleave and leave two webhooks per event.
    webhook_setup::hold(state, conn_id).await?;
    let hook = setup::register_webhooks(&client, &url).await;
    let hook = match hook {
        Ok(hook) => hook,
        Err(e) => {
            webhook_setup::release(state, conn_id).await;
            return Err(e.into());
        }
    };
    let has_manual = state
        .db
        .run(move |c| Ok(webhooks::live(c, conn_id)?.iter().any(|w| !w.managed)))
        .await?;
    let registered = matches!(hook, WebhookSetup::Registered { .. });
    let setup_state = setup::setup_state(stages, registered || has_manual, &url);
    let stored = store(
        state,
        conn_id,
        &grant,
        account,
        setup_state.clone(),
        hook,
        url,
    )
    .await;
    webhook_setup::release(state, conn_id).await;
    stored?;
    handle.tokens().forget();
    crate::ingest::invalidate(ConnectionId(conn_id));
    state.wake.wake(ConnectionId(conn_id));
    tracing::info!(connection_id = %conn_id, status = %setup_state.status, "Lever connected");
    Ok(Connected {
        status: "connected",
        org_id: org,
        connection_id: conn_id,
        connection_status: setup_state.status,
        problems: setup_state.problems,
    })
}

fn account_taken() -> ServiceError {
    ServiceError::conflict(
        "this Lever account is already connected to another Arkiter organisation; disconnect it there first",
    )
}

fn exchange_error(e: LeverError) -> ServiceError {
    match e {
        LeverError::OAuth { .. } | LeverError::NeedsReauth(_) => ServiceError::new(
            Kind::BadRequest,
            "code_exchange_failed",
            "Lever did not accept the authorisation code (it may have expired); start connecting again",
        ),
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
) -> Result<(), ServiceError> {
    let access_enc = state.secrets.seal(grant.access_token.expose_secret());
    let refresh_enc = grant
        .refresh_token
        .as_ref()
        .map(|r| state.secrets.seal(r.expose_secret()));
    let hooks_enc: Vec<(&'static str, String, Vec<u8>)> = match &hook {
        WebhookSetup::Registered { hooks, .. } => hooks
            .iter()
            .map(|h| {
                let sealed = state.secrets.seal(&h.signature_token);
                (h.event, h.lever_id.clone(), sealed)
            })
            .collect(),
        WebhookSetup::Unavailable(_) => Vec::new(),
    };
    let expires_at = grant.expires_at;
    let scopes = grant.scope.clone();
    state
        .db
        .transaction(move |c| -> Result<(), ServiceError> {
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
            if !hooks_enc.is_empty() {
                webhooks::retire_managed(c, conn_id)?;
            }
            for (event, lever_id, sealed) in &hooks_enc {
                webhooks::insert(c, conn_id, Some(lever_id), event, &url, true, sealed)?;
            }
            // Work kept while disconnected or re-authorising is due again now.
            crate::db::models::work::resume_account(c, conn_id)?;
            // Sweep right after (re)connecting: candidates moved meanwhile.
            crate::db::models::sweep::due_now(c, conn_id)?;
            Ok(())
        })
        .await
}
