//! The steps that make a Lever account ready to work with: find the customer's
//! "Arkiter Live" stage (stages are custom to each customer) and register our
//! webhooks (stage change, archive, hired, deleted) through the Lever API,
//! replacing any webhook of ours for the same URL rather than adding more.

use crate::domain::stages::TriggerStage;
use crate::lever::wire::{Stage, WebhookCreate, events};
use crate::lever::{LeverClient, LeverError};

/// A trigger stage as an admin asked for it: by id, or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedStage {
    pub id: Option<String>,
    pub name: String,
}

/// Looks every wanted stage up in one read of Lever's stages (by id when
/// given, else by name, trimmed and case-insensitively). One not found is
/// kept as asked, `found: false`.
pub async fn find_stages(
    client: &LeverClient,
    wanted: &[WantedStage],
) -> Result<Vec<TriggerStage>, LeverError> {
    let stages = client.list_stages().await?;
    Ok(wanted.iter().map(|w| match_stage(&stages, w)).collect())
}

fn match_stage(stages: &[Stage], w: &WantedStage) -> TriggerStage {
    let wanted_name = w.name.trim().to_lowercase();
    let found = match w.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => stages.iter().find(|s| s.id == id),
        None => stages
            .iter()
            .find(|s| s.text.trim().to_lowercase() == wanted_name),
    };
    match found {
        Some(s) => TriggerStage {
            id: Some(s.id.clone()),
            name: s.text.clone(),
            found: true,
        },
        None => TriggerStage {
            id: w.id.clone(),
            name: w.name.clone(),
            found: false,
        },
    }
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

/// The status and problems of a connection with these trigger stages:
/// `needs_setup` while no stage is found (or no webhook delivers), else
/// `active`, with `stage_missing` naming any stage Lever does not have.
pub fn setup_state(
    stages: Vec<TriggerStage>,
    has_webhook: bool,
    webhook_url: &str,
) -> crate::db::models::connection::SetupState {
    use crate::db::models::connection::{SetupState, problem};
    let mut problems = Vec::new();
    let missing: Vec<String> = stages
        .iter()
        .filter(|s| !s.found)
        .map(|s| match &s.id {
            Some(id) => format!("with id `{id}`"),
            None => format!("named \"{}\"", s.name),
        })
        .collect();
    if !missing.is_empty() {
        problems.push(problem(
            "stage_missing",
            &format!(
                "Lever has no pipeline stage {}. In Lever, add it under Settings > Pipeline \
                 and archive reasons > Customize pipeline stages, then save the stages again here \
                 (PATCH /lever with the stage).",
                missing.join(", nor ")
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
    let any_found = stages.iter().any(|s| s.found);
    SetupState {
        status: if any_found && has_webhook {
            crate::domain::status::ConnectionStatus::Active
        } else {
            crate::domain::status::ConnectionStatus::NeedsSetup
        },
        stages,
        problems: serde_json::Value::Array(problems),
    }
}
