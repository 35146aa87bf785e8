//! Changing a connection: its stage, tag names and `perform_as` (a new stage
//! is looked up in Lever again), and, in manual mode, the signature token an
//! admin pasted from the webhook they created in Lever by hand.

use super::view::{ConnectionView, load, render};
use crate::connections::setup;
use crate::db::models::connection::{Connection, webhooks};
use crate::domain::ids::{ConnectionId, OrgId};
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::validate;
use crate::state::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StagePatch {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsPatch {
    pub link_created: Option<String>,
    pub completed: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    pub stage: Option<StagePatch>,
    pub tags: Option<TagsPatch>,
    /// A Lever user id to attribute writes to; null clears it.
    #[serde(default, deserialize_with = "present")]
    pub perform_as: Option<Option<String>>,
}

/// Tells "absent" (None) from "null" (Some(None)).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes `org`'s connection.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: ConnectionPatch,
) -> Result<ConnectionView, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let current = load(state, org).await?;
    let tags = body.tags.unwrap_or(TagsPatch {
        link_created: None,
        completed: None,
    });
    let link_created = match tags.link_created {
        Some(t) => validate::name("tags.link_created", &t)?,
        None => current.tag_link_created.clone(),
    };
    let completed = match tags.completed {
        Some(t) => validate::name("tags.completed", &t)?,
        None => current.tag_completed.clone(),
    };
    let perform_as = match body.perform_as {
        Some(Some(p)) => Some(validate::bounded_text("perform_as", &p, 1, 200)?),
        Some(None) => None,
        None => current.perform_as.clone(),
    };
    let new_stage = match body.stage {
        Some(s) => Some(resolve_stage(state, &current, s).await?),
        None => None,
    };
    let id = current.id;
    state
        .db
        .transaction(move |c| -> Result<(), ServiceError> {
            Connection::set_tags_and_perform_as(
                c,
                id,
                &link_created,
                &completed,
                perform_as.as_deref(),
            )?;
            if let Some(s) = &new_stage {
                Connection::store_setup(c, id, s)?;
                crate::db::models::work::resume_account(c, id)?;
            }
            Ok(())
        })
        .await?;
    crate::ingest::invalidate(ConnectionId(id));
    state.wake.wake(ConnectionId(id));
    render(state, org).await
}

/// Looks the new stage up in Lever and works out the resulting status.
async fn resolve_stage(
    state: &AppState,
    current: &Connection,
    patch: StagePatch,
) -> Result<crate::db::models::connection::SetupState, ServiceError> {
    let wanted_id = patch
        .id
        .as_deref()
        .map(|s| validate::bounded_text("stage.id", s, 1, 200))
        .transpose()?;
    let wanted_name = match (&patch.name, &wanted_id) {
        (Some(n), _) => validate::name("stage.name", n)?,
        (None, Some(_)) => current.stage_name.clone(),
        (None, None) => {
            return Err(ServiceError::invalid(
                "stage",
                "`stage` needs an `id` or a `name`",
            ));
        }
    };
    if matches!(
        current.status,
        crate::domain::status::ConnectionStatus::Disconnected
            | crate::domain::status::ConnectionStatus::Pending
    ) {
        return Err(ServiceError::conflict(format!(
            "the connection is {}; connect Lever first, then set the stage",
            current.status
        )));
    }
    let handle = state.handles.get(ConnectionId(current.id))?;
    let stage = setup::find_stage(&handle.client(None), wanted_id.as_deref(), &wanted_name).await?;
    let id = current.id;
    let has_webhook = state
        .db
        .run(move |c| Ok(!webhooks::live(c, id)?.is_empty()))
        .await?;
    let url = state.urls.webhook(current.id);
    let mut s = setup::setup_state(
        stage.as_ref(),
        wanted_id.as_deref(),
        &wanted_name,
        has_webhook,
        &url,
    );
    if current.status == crate::domain::status::ConnectionStatus::NeedsReauth {
        s.status = crate::domain::status::ConnectionStatus::NeedsReauth;
    }
    Ok(s)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecret {
    /// The signature token Lever shows for the webhook you created by hand.
    pub signature_token: String,
}

/// Manual webhook mode: stores a pasted signature token.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn set_webhook_secret(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    body: &WebhookSecret,
) -> Result<ConnectionView, ServiceError> {
    caller.require_org(org, KeyRole::Admin)?;
    let token = validate::bounded_text("signature_token", &body.signature_token, 8, 512)?;
    let current = load(state, org).await?;
    let sealed = state.secrets.seal(&token);
    let url = state.urls.webhook(current.id);
    let id = current.id;
    state
        .db
        .transaction(move |c| -> Result<(), ServiceError> {
            webhooks::insert(c, id, None, &url, false, &sealed)?;
            // The admin has just added the webhook in Lever: clear what the
            // last sweep reported, and check again soon.
            crate::db::models::sweep::webhook_missing(c, id, None)?;
            crate::db::models::sweep::due_now(c, id)?;
            let row = Connection::find(c, id)?;
            // The webhook was the missing piece: with the stage found, work can start.
            if row.status == crate::domain::status::ConnectionStatus::NeedsSetup {
                let s = setup::setup_state(
                    row.stage_found.then_some(&crate::lever::wire::Stage {
                        id: row.stage_id.clone().unwrap_or_default(),
                        text: row.stage_name.clone(),
                        extra: Default::default(),
                    }),
                    row.stage_id.as_deref(),
                    &row.stage_name,
                    true,
                    &url,
                );
                Connection::store_setup(c, id, &s)?;
            }
            Ok(())
        })
        .await?;
    crate::ingest::invalidate(ConnectionId(id));
    state.wake.wake(ConnectionId(id));
    render(state, org).await
}
