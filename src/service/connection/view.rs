//! The connection as an admin sees it (never a token). An org that never
//! connected is `not_connected`.

use crate::db::models::checklist::{ChecklistFacts, facts as checklist_facts};
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

/// One step of setting the connection up.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistStep {
    /// `connected`, `stage_found`, `webhook_registered`,
    /// `delivery_received`, `role_exists`, `postings_mapped`, `first_link`.
    pub step: &'static str,
    pub done: bool,
    /// What the step means when done, or what to do (and where in Lever).
    pub message: String,
}

/// The checklist from the connection and the facts the database holds.
/// No step waits on another: each says what is true now.
fn checklist(
    c: &Connection,
    live_hooks: &[(String, bool)],
    f: &ChecklistFacts,
    url: &str,
) -> Vec<ChecklistStep> {
    let stages = c.trigger_stages();
    let missing: Vec<&str> = stages
        .iter()
        .filter(|s| !s.found)
        .map(|s| s.name.as_str())
        .collect();
    let managed = live_hooks.iter().any(|(_, m)| *m);
    let step = |step, done: bool, ok: &str, todo: String| ChecklistStep {
        step,
        done,
        message: if done { ok.to_owned() } else { todo },
    };
    vec![
        step(
            "connected",
            c.status == crate::domain::status::ConnectionStatus::Active,
            "Lever is connected and Arkiter works for the account.",
            format!(
                "The connection is {}: a Lever Super Admin clicks Connect and chooses Accept on Lever's screen.",
                c.status
            ),
        ),
        step(
            "stage_found",
            !stages.is_empty() && missing.is_empty(),
            "Every trigger stage was found in Lever.",
            format!(
                "Lever has no stage named {}: add it under Settings > Pipeline and archive reasons > \
                 Customize pipeline stages, then save the stages again here.",
                missing.join(", ")
            ),
        ),
        step(
            "webhook_registered",
            !live_hooks.is_empty() && !f.webhook_missing,
            if managed {
                "Arkiter registered its webhooks in Lever."
            } else {
                "The webhook's signature token is pasted."
            },
            format!(
                "In Lever, under Settings > Integrations and API > Webhooks, add {url} for \
                 Candidate Stage Change and paste its signature token here."
            ),
        ),
        step(
            "delivery_received",
            f.delivery_received,
            "Lever has delivered to Arkiter (a Test ping counts).",
            "Nothing has arrived from Lever yet: a Lever Super Admin turns the Candidate Stage \
             Change webhook group on under Settings > Integrations and API > Webhooks and \
             presses Test (or Verify connection)."
                .to_owned(),
        ),
        step(
            "role_exists",
            f.role_exists,
            "At least one Arkiter role exists.",
            "Create a role under Roles (Configure Job in Arkiter).".to_owned(),
        ),
        step(
            "postings_mapped",
            f.has_mapping && !f.unmapped_recently,
            "Roles map Lever job titles, posting ids or tags, and no posting went unmapped in 7 days.",
            "Add the Lever job titles, posting ids or posting tags of your jobs to roles \
             (Roles); postings that got the fallback or oldest role are listed there."
                .to_owned(),
        ),
        step(
            "first_link",
            f.first_link,
            "A live interview link was posted on a candidate.",
            "Move a candidate into the Arkiter Live stage in Lever: the link appears on the \
             candidate within seconds."
                .to_owned(),
        ),
    ]
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
    /// The setup steps in order, each done or what to do.
    pub checklist: Vec<ChecklistStep>,
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
    let org_id = c.org_id;
    let (hooks, results_settings, facts) = state
        .db
        .run(move |conn| {
            Ok((
                webhooks::live(conn, id)?,
                ResultsSettings::load(conn, id)?,
                checklist_facts(conn, org_id, id)?,
            ))
        })
        .await?;
    let live: Vec<(String, bool)> = hooks.iter().map(|h| (h.event.clone(), h.managed)).collect();
    let steps = checklist(&c, &live, &facts, &state.urls.webhook(c.id));
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
        checklist: steps,
        problems: c.problems,
    })
}
