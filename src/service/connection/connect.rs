//! Starting (or restarting) the OAuth authorisation of an org's Lever
//! account. The org's one connection is created `pending` or reused
//! (same id; an active connection stays active until the new authorisation
//! completes). The state is random, stored as a digest, bound to the org and
//! connection, single-use, and expires after `ARKITER_OAUTH_STATE_TTL_SECS`.

use crate::db::models::connection::Connection;
use crate::db::models::oauth_state::{NewOAuthState, OAuthState};
use crate::domain::api_keys::digest;
use crate::domain::ids::OrgId;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::service::validate;
use crate::state::AppState;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// The Lever stage id of the customer's "Arkiter Live" stage.
    pub stage_id: Option<String>,
    /// Its name, if no id is given (default `Arkiter Live`).
    pub stage_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectResponse {
    /// Send the Lever Super Admin here.
    pub authorize_url: String,
    pub connection_id: Uuid,
}

/// Starts connecting `org`'s Lever account. With `from_console`, Lever's
/// redirect brings a browser back to the console's Lever page.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn start(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: ConnectRequest,
    from_console: bool,
) -> Result<ConnectResponse, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let stage_id = body
        .stage_id
        .as_deref()
        .map(|s| validate::bounded_text("stage_id", s, 1, 200))
        .transpose()?;
    let stage_name = body
        .stage_name
        .as_deref()
        .map(|s| validate::name("stage_name", s))
        .transpose()?;
    let oauth = state
        .handles
        .env()
        .oauth
        .clone()
        .ok_or_else(ServiceError::lever_not_configured)?;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let state_text = hex::encode(raw);
    let state_digest = digest(&state_text);
    let expires_at = chrono::Utc::now()
        + chrono::Duration::from_std(state.settings.oauth_state_ttl)
            .map_err(|e| ServiceError::internal(e.into()))?;
    let audit = Audit::new(
        caller,
        org,
        Action::ConnectStarted,
        "sent to Lever's consent screen",
    );
    let connection = state
        .db
        .transaction(move |conn| -> Result<_, ServiceError> {
            let c = Connection::get_or_create(conn, org.0)?;
            audit.on(c.id).write(conn)?;
            OAuthState::insert(
                conn,
                &NewOAuthState {
                    state_sha256: &state_digest,
                    org_id: org.0,
                    connection_id: c.id,
                    stage_id: stage_id.as_deref(),
                    stage_name: stage_name.as_deref(),
                    expires_at,
                    from_console,
                },
            )?;
            Ok(c)
        })
        .await?;
    // Deliveries to it are accepted here at once; other instances hear of
    // it from the table's insert trigger.
    state.ingest.roster().add(connection.id);
    Ok(ConnectResponse {
        authorize_url: oauth.authorize_url(&state_text)?,
        connection_id: connection.id,
    })
}
