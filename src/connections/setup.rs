//! The steps that make a Lever account ready to work with: find the customer's
//! "Arkiter Live" stage (stages are custom to each customer) and register our
//! webhooks (stage change, archive, hired, deleted) through the Lever API,
//! replacing any webhook of ours for the same URL rather than adding more.

use crate::lever::wire::{Stage, WebhookCreate, events};
use crate::lever::{LeverClient, LeverError};

/// The stage given by id, else the one whose name matches (trimmed, any case).
pub async fn find_stage(
    client: &LeverClient,
    stage_id: Option<&str>,
    stage_name: &str,
) -> Result<Option<Stage>, LeverError> {
    let stages = client.list_stages().await?;
    let wanted = stage_name.trim().to_lowercase();
    Ok(match stage_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => stages.into_iter().find(|s| s.id == id),
        None => stages
            .into_iter()
            .find(|s| s.text.trim().to_lowercase() == wanted),
    })
}

/// The events the service registers a webhook for, in order. The stage
/// change is the one it cannot work without; Lever may refuse the others
/// over the API (then the console shows how to add them by hand, and the
/// sweep covers what they would have said).
pub const MANAGED_EVENTS: [&str; 4] = [
    events::CANDIDATE_STAGE_CHANGE,
    events::CANDIDATE_ARCHIVE_CHANGE,
    events::CANDIDATE_HIRED,
    events::CANDIDATE_DELETED,
];

/// How long a webhook setup (a connect's, or a sweep's repair) holds its
/// mark on the connection: longer than a listing, the deletes and the
/// creates take, retries included. A mark left by a crash runs out.
pub const SETUP_HOLD: std::time::Duration = std::time::Duration::from_secs(60);

/// One webhook Lever created for us.
pub struct Registered {
    pub event: &'static str,
    pub lever_id: String,
    pub signature_token: String,
}

/// What registering the webhooks came to.
pub enum WebhookSetup {
    /// The stage-change webhook and those of the other events Lever took;
    /// `refused`: the events it would not take, with its answer.
    Registered {
        hooks: Vec<Registered>,
        refused: Vec<(&'static str, String)>,
    },
    /// The account's Lever package has no webhook API (or refused us): the
    /// admin pastes the URL into Lever and the signature token into Arkiter.
    Unavailable(String),
}

/// Lever said no to this account's webhook API, as opposed to being down.
fn refused(e: &LeverError) -> bool {
    matches!(
        e,
        LeverError::Api {
            status: 400..=499,
            ..
        }
    )
}

/// Deletes our existing webhooks for `url`, then creates one per event of
/// [`MANAGED_EVENTS`] (a reconnect or repair replaces, never adds).
pub async fn register_webhooks(
    client: &LeverClient,
    url: &str,
) -> Result<WebhookSetup, LeverError> {
    let existing = match client.list_webhooks().await {
        Ok(list) => list,
        Err(e) if refused(&e) => return Ok(WebhookSetup::Unavailable(e.to_string())),
        Err(e) => return Err(e),
    };
    for hook in existing.iter().filter(|h| h.url == url) {
        match client.delete_webhook(&hook.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    let (mut hooks, mut refusals) = (Vec::new(), Vec::new());
    for event in MANAGED_EVENTS {
        let create = WebhookCreate {
            url: url.to_owned(),
            event: event.to_owned(),
            configuration: None,
        };
        let why = match client.create_webhook(&create).await {
            Ok(hook) => match hook.signature_token() {
                Some(token) => {
                    hooks.push(Registered {
                        event,
                        lever_id: hook.id.clone(),
                        signature_token: token.to_owned(),
                    });
                    continue;
                }
                None => "Lever created the webhook but returned no signature token".to_owned(),
            },
            Err(e) if refused(&e) => e.to_string(),
            Err(e) => return Err(e),
        };
        if event == events::CANDIDATE_STAGE_CHANGE {
            return Ok(WebhookSetup::Unavailable(why));
        }
        refusals.push((event, why));
    }
    Ok(WebhookSetup::Registered {
        hooks,
        refused: refusals,
    })
}

/// Status and problems from what setup found.
pub fn setup_state(
    stage: Option<&Stage>,
    wanted_id: Option<&str>,
    wanted_name: &str,
    has_webhook: bool,
    webhook_url: &str,
) -> crate::db::models::connection::SetupState {
    use crate::db::models::connection::{SetupState, problem};
    let mut problems = Vec::new();
    if stage.is_none() {
        let which = match wanted_id {
            Some(id) => format!("with id `{id}`"),
            None => format!("named \"{wanted_name}\""),
        };
        problems.push(problem(
            "stage_missing",
            &format!(
                "Lever has no pipeline stage {which}. In Lever, add it under Settings > Pipeline \
                 and archive reasons > Customize pipeline stages, then save the stage again here \
                 (PATCH /lever with the stage)."
            ),
        ));
    }
    if !has_webhook {
        problems.push(problem(
            "webhook_missing",
            &format!(
                "Lever did not let Arkiter register its webhook (your Lever package may not \
                 include the webhook API). In Lever, go to Settings > Integrations and API > \
                 Webhooks, add {webhook_url} for Candidate Stage Change, and paste its signature \
                 token into Arkiter (PUT /lever/webhook-secret)."
            ),
        ));
    }
    SetupState {
        stage_id: stage.map(|s| s.id.clone()).or(wanted_id.map(str::to_owned)),
        stage_name: stage
            .map(|s| s.text.clone())
            .unwrap_or_else(|| wanted_name.to_owned()),
        stage_found: stage.is_some(),
        status: if problems.is_empty() {
            crate::domain::status::ConnectionStatus::Active
        } else {
            crate::domain::status::ConnectionStatus::NeedsSetup
        },
        problems: serde_json::Value::Array(problems),
    }
}
