//! Changing a connection: its stage, tag names, lifecycle policy, results
//! and `perform_as` (a new stage
//! is looked up in Lever again), and, in manual mode, the signature token an
//! admin pasted from the webhook they created in Lever by hand.

use super::view::{ConnectionView, load, render};
use crate::connections::setup::{self, WantedStage};
use crate::db::models::connection::{Connection, Settings, webhooks};
use crate::db::models::results_settings::ResultsSettings;
use crate::domain::ids::{ConnectionId, OrgId};
use crate::domain::stages::MAX_STAGES;
use crate::domain::status::LifecyclePolicy;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit, changed};
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsPatch {
    pub link_created: Option<String>,
    pub completed: Option<String>,
    /// Added when an interview closes (archived, hired); null turns it off.
    #[serde(default, deserialize_with = "validate::present")]
    pub closed: Option<Option<String>>,
    /// Added when a link expires unopened; null turns it off.
    #[serde(default, deserialize_with = "validate::present")]
    pub expired: Option<Option<String>>,
    /// Added when a score reaches the role's pass score; null turns it off.
    #[serde(default, deserialize_with = "validate::present")]
    pub passed: Option<Option<String>>,
    /// Added when a score is below it; null turns it off.
    #[serde(default, deserialize_with = "validate::present")]
    pub not_passed: Option<Option<String>>,
    /// On a candidate an admin must look at; null turns it off.
    #[serde(default, deserialize_with = "validate::present")]
    pub needs_attention: Option<Option<String>>,
}

/// What happens to an open interview when its candidate moves on.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecyclePatch {
    /// `close` (default) or `keep`.
    pub on_archive: Option<String>,
    /// `close` (default) or `keep`.
    pub on_hired: Option<String>,
    /// `keep` (default) or `close`.
    pub on_stage_exit: Option<String>,
    /// 1-365, or null for links that never expire.
    #[serde(default, deserialize_with = "validate::present")]
    pub link_ttl_days: Option<Option<i64>>,
}

/// Which results a completion writes; at least one stays on.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsPatch {
    /// A note with score, recommendation, summary and results link (default on).
    pub note: Option<bool>,
    /// A Lever feedback form (needs `perform_as`).
    pub feedback: Option<bool>,
    /// A one-page PDF file on the candidate.
    pub pdf: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    /// Sets the list to this one stage (kept for older clients).
    pub stage: Option<StagePatch>,
    /// 1-10 trigger stages, replacing the list; not with `stage`.
    pub stages: Option<Vec<StagePatch>>,
    pub tags: Option<TagsPatch>,
    pub lifecycle: Option<LifecyclePatch>,
    pub results: Option<ResultsPatch>,
    /// A Lever user id to attribute writes to; null clears it.
    #[serde(default, deserialize_with = "validate::present")]
    pub perform_as: Option<Option<String>>,
}

/// A policy value, or 422 naming the field.
fn policy(
    field: &str,
    value: Option<String>,
    now: LifecyclePolicy,
) -> Result<LifecyclePolicy, ServiceError> {
    match value {
        None => Ok(now),
        Some(v) => LifecyclePolicy::parse(&v).ok_or_else(|| {
            ServiceError::invalid(field, format!("`{field}` must be `close` or `keep`"))
        }),
    }
}

/// A tag that may be turned off: absent keeps it, null turns it off.
fn optional_tag(
    field: &str,
    value: Option<Option<String>>,
    now: Option<String>,
) -> Result<Option<String>, ServiceError> {
    match value {
        None => Ok(now),
        Some(None) => Ok(None),
        Some(Some(t)) => validate::name(field, &t).map(Some),
    }
}

/// The stored results settings with the patch's results and outcome tags.
fn merged_results_settings(
    now: ResultsSettings,
    tags: &mut TagsPatch,
    results: Option<ResultsPatch>,
) -> Result<ResultsSettings, ServiceError> {
    let results = results.unwrap_or_default();
    let (note, feedback, pdf) = (
        results.note.unwrap_or(now.note),
        results.feedback.unwrap_or(now.feedback),
        results.pdf.unwrap_or(now.pdf),
    );
    if !(note || feedback || pdf) {
        return Err(ServiceError::invalid(
            "results",
            "`results` must keep at least one of `note`, `feedback` and `pdf`",
        ));
    }
    Ok(ResultsSettings {
        note,
        feedback,
        pdf,
        tag_passed: optional_tag("tags.passed", tags.passed.take(), now.tag_passed)?,
        tag_not_passed: optional_tag(
            "tags.not_passed",
            tags.not_passed.take(),
            now.tag_not_passed,
        )?,
        tag_needs_attention: optional_tag(
            "tags.needs_attention",
            tags.needs_attention.take(),
            now.tag_needs_attention,
        )?,
    })
}

/// The stored settings with the patch's tags, lifecycle and `perform_as`.
fn merged(
    current: &Connection,
    tags: TagsPatch,
    body: &mut ConnectionPatch,
) -> Result<Settings, ServiceError> {
    let now = current.settings();
    let life = body.lifecycle.take().unwrap_or_default();
    let link_ttl_days = match life.link_ttl_days {
        None => now.link_ttl_days,
        Some(d) => validate::ttl_days("lifecycle.link_ttl_days", d)?,
    };
    Ok(Settings {
        tag_link_created: match tags.link_created {
            Some(t) => validate::name("tags.link_created", &t)?,
            None => now.tag_link_created,
        },
        tag_completed: match tags.completed {
            Some(t) => validate::name("tags.completed", &t)?,
            None => now.tag_completed,
        },
        tag_closed: optional_tag("tags.closed", tags.closed, now.tag_closed)?,
        tag_expired: optional_tag("tags.expired", tags.expired, now.tag_expired)?,
        perform_as: match body.perform_as.take() {
            Some(Some(p)) => Some(validate::bounded_text("perform_as", &p, 1, 200)?),
            Some(None) => None,
            None => now.perform_as,
        },
        on_archive: policy("lifecycle.on_archive", life.on_archive, now.on_archive)?,
        on_hired: policy("lifecycle.on_hired", life.on_hired, now.on_hired)?,
        on_stage_exit: policy(
            "lifecycle.on_stage_exit",
            life.on_stage_exit,
            now.on_stage_exit,
        )?,
        link_ttl_days,
    })
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
    let audit = Audit::new(
        caller,
        org,
        Action::SettingsUpdated,
        changed(&[
            ("stage", body.stage.is_some()),
            ("stages", body.stages.is_some()),
            ("tags", body.tags.is_some()),
            ("lifecycle", body.lifecycle.is_some()),
            ("results", body.results.is_some()),
            ("perform_as", body.perform_as.is_some()),
        ]),
    )
    .on(current.id);
    let mut body = body;
    let mut tags = body.tags.take().unwrap_or_default();
    let cid = current.id;
    let stored_tags = state
        .db
        .run(move |c| Ok(ResultsSettings::load(c, cid)?))
        .await?;
    let results_settings = merged_results_settings(stored_tags, &mut tags, body.results.take())?;
    let settings = merged(&current, tags, &mut body)?;
    let wanted = match (body.stage.take(), body.stages.take()) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::invalid(
                "stages",
                "give `stage` or `stages`, not both",
            ));
        }
        (Some(one), None) => Some(vec![one]),
        (None, list) => list,
    };
    let new_stage = match wanted {
        Some(list) => Some(resolve_stages(state, &current, list).await?),
        None => None,
    };
    let id = current.id;
    state
        .db
        .transaction(move |c| -> Result<(), ServiceError> {
            Connection::set_settings(c, id, &settings)?;
            results_settings.save(c, id)?;
            if let Some(s) = &new_stage {
                Connection::store_setup(c, id, s)?;
                crate::db::models::work::resume_account(c, id)?;
            }
            Ok(audit.write(c)?)
        })
        .await?;
    crate::ingest::invalidate(ConnectionId(id));
    state.wake.wake(ConnectionId(id));
    render(state, org).await
}

/// Checks the wanted stages (1-10, none twice), looks them up in Lever in
/// one read, and works out the resulting status.
async fn resolve_stages(
    state: &AppState,
    current: &Connection,
    patches: Vec<StagePatch>,
) -> Result<crate::db::models::connection::SetupState, ServiceError> {
    if patches.is_empty() || patches.len() > MAX_STAGES {
        return Err(ServiceError::invalid(
            "stages",
            format!("`stages` lists 1 to {MAX_STAGES} stages"),
        ));
    }
    let mut wanted: Vec<WantedStage> = Vec::with_capacity(patches.len());
    for (i, patch) in patches.into_iter().enumerate() {
        let w = wanted_stage(current, patch, i)?;
        let same = |o: &WantedStage| match (&o.id, &w.id) {
            (Some(a), Some(b)) => a == b,
            _ => o.name.trim().to_lowercase() == w.name.trim().to_lowercase(),
        };
        if wanted.iter().any(same) {
            return Err(ServiceError::invalid(
                "stages",
                format!(
                    "`stages` lists the stage `{}` twice",
                    w.id.as_deref().unwrap_or(&w.name)
                ),
            ));
        }
        wanted.push(w);
    }
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
    let stages = setup::find_stages(&handle.client(None), &wanted).await?;
    let id = current.id;
    let has_webhook = state
        .db
        .run(move |c| Ok(!webhooks::live(c, id)?.is_empty()))
        .await?;
    let url = state.urls.webhook(current.id);
    let mut s = setup::setup_state(stages, has_webhook, &url);
    if current.status == crate::domain::status::ConnectionStatus::NeedsReauth {
        s.status = crate::domain::status::ConnectionStatus::NeedsReauth;
    }
    Ok(s)
}

/// One wanted stage: by id or name; an id alone keeps the first stage's
/// name as it was (for the single `stage` of older clients).
fn wanted_stage(
    current: &Connection,
    patch: StagePatch,
    i: usize,
) -> Result<WantedStage, ServiceError> {
    let id = patch
        .id
        .as_deref()
        .map(|s| validate::bounded_text("stage.id", s, 1, 200))
        .transpose()?;
    let name = match (&patch.name, &id) {
        (Some(n), _) => validate::name("stage.name", n)?,
        (None, Some(_)) if i == 0 => current.stage_name.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            return Err(ServiceError::invalid(
                "stage",
                "each stage needs an `id` or a `name`",
            ));
        }
    };
    Ok(WantedStage { id, name })
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
    let audit = Audit::new(
        caller,
        org,
        Action::WebhookSecretSet,
        "signature token pasted (manual webhook)",
    )
    .on(id);
    state
        .db
        .transaction(move |c| -> Result<(), ServiceError> {
            audit.write(c)?;
            let event = crate::lever::wire::events::CANDIDATE_STAGE_CHANGE;
            webhooks::insert(c, id, None, event, &url, false, &sealed)?;
            // The admin has just added the webhook in Lever: clear what the
            // last sweep reported, and check again soon.
            crate::db::models::sweep::webhook_missing(c, id, None)?;
            crate::db::models::sweep::due_now(c, id)?;
            let row = Connection::find(c, id)?;
            // The webhook was the missing piece: with the stage found, work can start.
            if row.status == crate::domain::status::ConnectionStatus::NeedsSetup {
                let s = setup::setup_state(row.trigger_stages(), true, &url);
                Connection::store_setup(c, id, &s)?;
            }
            Ok(())
        })
        .await?;
    crate::ingest::invalidate(ConnectionId(id));
    state.wake.wake(ConnectionId(id));
    render(state, org).await
}
