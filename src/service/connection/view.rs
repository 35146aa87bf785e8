//! The connection as an admin sees it (never a token). An org that never
//! connected is `not_connected`.

use crate::db::models::connection::{Connection, webhooks};
use crate::db::models::results_settings::ResultsSettings;
use crate::domain::ids::OrgId;
use crate::domain::status::LifecyclePolicy;
use crate::lever::wire::events;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct StageView {
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerStageView {
    pub id: Option<String>,
    pub name: String,
    pub found: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Lever's id of our managed webhook; null for a pasted (manual) one.
    pub id: Option<String>,
    /// Where Lever must deliver: paste this into Lever in manual mode.
    pub url: String,
    pub managed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagsView {
    pub link_created: String,
    pub completed: String,
    /// Added when an interview closes because its candidate was archived
    /// or hired; null: off.
    pub closed: Option<String>,
    /// Added when a link expires unopened; null: off.
    pub expired: Option<String>,
    /// Added on completion when the score reaches the role's pass score;
    /// null: off.
    pub passed: Option<String>,
    /// Added on completion when the score is below it; null: off.
    pub not_passed: Option<String>,
    /// On a candidate whose event failed in a way an admin must fix (no
    /// role, refused, confidential) until a link is posted; null: off.
    pub needs_attention: Option<String>,
}

/// What happens to an open interview when its candidate moves on.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleView {
    pub on_archive: LifecyclePolicy,
    pub on_hired: LifecyclePolicy,
    pub on_stage_exit: LifecyclePolicy,
    /// Days an unopened link lives; null: forever.
    pub link_ttl_days: Option<i32>,
}

/// Which results a completion writes (docs/contract/results.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsView {
    pub note: bool,
    pub feedback: bool,
    pub pdf: bool,
}

/// One webhook registered for the connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventWebhookView {
    /// The Lever event it delivers, for example `candidateArchiveChange`.
    pub event: String,
    /// Lever's id; null for a pasted (manual) one.
    pub id: Option<String>,
    pub managed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub id: Uuid,
    /// `pending`, `active`, `needs_setup`, `needs_reauth` or `disconnected`.
    pub status: crate::domain::status::ConnectionStatus,
    pub lever_account_id: Option<String>,
    /// The first trigger stage (kept for older clients).
    pub stage: StageView,
    /// Every trigger stage, in order, and whether Lever has it.
    pub stages: Vec<TriggerStageView>,
    /// The `candidateStageChange` webhook.
    pub webhook: WebhookView,
    /// Every live webhook, one per event.
    pub webhooks: Vec<EventWebhookView>,
    pub tags: TagsView,
    pub lifecycle: LifecycleView,
    pub results: ResultsView,
    pub perform_as: Option<String>,
    pub connected_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    /// `[{"code","message"}]`: what an admin should fix.
    #[schema(value_type = Vec<Object>)]
    pub problems: serde_json::Value,
}

/// `org`'s connection as `caller` (a member at least) may see it.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn get(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
) -> Result<ConnectionView, ServiceError> {
    caller.require_org(org, KeyRole::Member)?;
    render(state, org).await
}

/// The org's connection row, or `not_connected`.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn load(state: &AppState, org: OrgId) -> Result<Connection, ServiceError> {
    state
        .db
        .run(move |c| Ok(Connection::find_by_org(c, org.0)?))
        .await?
        .ok_or_else(ServiceError::not_connected)
}

/// The view of `org`'s connection as stored now.
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn render(state: &AppState, org: OrgId) -> Result<ConnectionView, ServiceError> {
    let c = load(state, org).await?;
    let id = c.id;
    let (hooks, results_settings) = state
        .db
        .run(move |conn| Ok((webhooks::live(conn, id)?, ResultsSettings::load(conn, id)?)))
        .await?;
    let stages = c
        .trigger_stages()
        .into_iter()
        .map(|s| TriggerStageView {
            id: s.id,
            name: s.name,
            found: s.found,
        })
        .collect();
    let hook = hooks
        .iter()
        .find(|h| h.event == events::CANDIDATE_STAGE_CHANGE)
        .or(hooks.first());
    Ok(ConnectionView {
        id: c.id,
        status: c.status,
        lever_account_id: c.lever_account_id,
        stages,
        stage: StageView {
            id: c.stage_id,
            name: c.stage_name,
        },
        webhook: WebhookView {
            id: hook.and_then(|h| h.lever_webhook_id.clone()),
            url: state.urls.webhook(c.id),
            managed: hook.is_some_and(|h| h.managed),
        },
        webhooks: hooks
            .iter()
            .map(|h| EventWebhookView {
                event: h.event.clone(),
                id: h.lever_webhook_id.clone(),
                managed: h.managed,
            })
            .collect(),
        tags: TagsView {
            link_created: c.tag_link_created,
            completed: c.tag_completed,
            closed: c.tag_closed,
            expired: c.tag_expired,
            passed: results_settings.tag_passed,
            not_passed: results_settings.tag_not_passed,
            needs_attention: results_settings.tag_needs_attention,
        },
        lifecycle: LifecycleView {
            on_archive: c.on_archive,
            on_hired: c.on_hired,
            on_stage_exit: c.on_stage_exit,
            link_ttl_days: c.link_ttl_days,
        },
        results: ResultsView {
            note: results_settings.note,
            feedback: results_settings.feedback,
            pdf: results_settings.pdf,
        },
        perform_as: c.perform_as,
        connected_at: c.connected_at,
        scopes: c
            .scopes
            .as_deref()
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        problems: c.problems,
    })
}
