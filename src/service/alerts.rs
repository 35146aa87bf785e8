//! Alert destinations (docs/contract/alerts.md): an org's (admins) and the
//! operator's (the super-admin token): add one (a webhook gets its signing
//! secret, shown once), list, delete, send a test, read the last sends. A
//! URL is checked against the address rules when it is added; the sender
//! checks it again at every send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::alerts::address::{self, Kind};
use crate::alerts::{body, signing};
use crate::db::models::alert;
use crate::domain::ids::OrgId;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::audit::{Action, Audit};
use crate::state::AppState;

/// The most attempts `deliveries` lists.
const DELIVERIES_SHOWN: i64 = 50;

/// Whose destinations: an org's, or the operator's.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Org(OrgId),
    Operator,
}

impl Scope {
    fn allow(self, caller: &Caller) -> Result<Option<uuid::Uuid>, ServiceError> {
        match self {
            Self::Org(org) => {
                caller.require_org(org, KeyRole::Admin)?;
                Ok(Some(org.0))
            }
            Self::Operator => {
                caller.require_super()?;
                Ok(None)
            }
        }
    }

    fn audit(self, caller: &Caller, action: Action, summary: String, id: Uuid) -> Option<Audit> {
        match self {
            Self::Org(org) => Some(Audit::new(caller, org, action, summary).on(id)),
            Self::Operator => None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlert {
    /// `https://...`; a Slack destination's is its incoming webhook.
    pub url: String,
    /// `webhook` or `slack`.
    pub kind: String,
    /// Which notifications: `problem.opened`, `problem.resolved`,
    /// `connection.status_changed`, and on the operator's destinations
    /// `instance.started`, `instance.stopped`, `lease.taken_over`
    /// (default all it may take).
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: Uuid,
    pub url: String,
    pub kind: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The last send's HTTP status (null: none yet, or no answer).
    pub last_status: Option<i16>,
    /// Since when sends have failed (null: the last one worked).
    pub failing_since: Option<DateTime<Utc>>,
}

impl From<alert::Destination> for AlertView {
    fn from(d: alert::Destination) -> Self {
        Self {
            id: d.id,
            url: d.url,
            kind: d.kind,
            events: d.events,
            created_at: d.created_at,
            last_status: d.last_status,
            failing_since: d.failing_since,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAlert {
    #[serde(flatten)]
    pub alert: AlertView,
    /// `whsec_...` for a webhook destination: shown only here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The notification's `webhook-id` (the same on each of its retries).
    pub webhook_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; null when none came.
    pub status: Option<i16>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestQueued {
    /// The test notification's `webhook-id`.
    pub webhook_id: Uuid,
}

fn kind_of(text: &str) -> Result<Kind, ServiceError> {
    match text {
        "webhook" => Ok(Kind::Webhook),
        "slack" => Ok(Kind::Slack),
        _ => Err(ServiceError::invalid(
            "kind",
            "`kind` must be `webhook` or `slack`",
        )),
    }
}

/// The notifications a destination takes: `events` as given, or all it
/// may take (an org's: its connections'; the operator's: also the
/// instances').
fn events_of(events: Option<&[String]>, org: Option<Uuid>) -> Result<Vec<String>, ServiceError> {
    let allowed: &[&str] = match org {
        Some(_) => &body::ALL,
        None => &body::OPERATOR_ALL,
    };
    let Some(list) = events else {
        return Ok(allowed.iter().map(|e| (*e).to_owned()).collect());
    };
    if list.is_empty() {
        return Err(ServiceError::invalid(
            "events",
            "`events` lists at least one notification",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for e in list {
        if !allowed.contains(&e.as_str()) {
            return Err(ServiceError::invalid(
                "events",
                format!("`events` may hold {}; not `{e}`", allowed.join(", ")),
            ));
        }
        if out.contains(e) {
            return Err(ServiceError::invalid(
                "events",
                format!("`events` lists `{e}` twice"),
            ));
        }
        out.push(e.clone());
    }
    Ok(out)
}

/// Adds a destination; a webhook's secret is returned only here.
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    new: &NewAlert,
) -> Result<CreatedAlert, ServiceError> {
    let org = scope.allow(caller)?;
    let kind = kind_of(&new.kind)?;
    let events = events_of(new.events.as_deref(), org)?;
    if new.url.len() > 2000 {
        return Err(ServiceError::invalid(
            "url",
            "`url` is longer than 2000 characters",
        ));
    }
    let allow = state.alerts.settings.allow_private;
    let url =
        address::check_url(&new.url, kind, allow).map_err(|u| ServiceError::invalid("url", u.0))?;
    address::resolve_public(&url, &state.alerts.resolver, allow)
        .await
        .map_err(|u| ServiceError::invalid("url", u.0))?;
    let secret = (kind == Kind::Webhook).then(signing::new_secret);
    let sealed = secret.as_deref().map(|s| state.secrets.seal(s));
    let id = Uuid::now_v7();
    let audit = scope.audit(
        caller,
        Action::AlertCreated,
        format!(
            "{} destination on {}",
            new.kind,
            url.host_str().unwrap_or_default()
        ),
        id,
    );
    let kind_text = new.kind.clone();
    let url_text = url.to_string();
    let stored = state
        .db
        .transaction(move |c| {
            let d = alert::insert_destination(
                c,
                &alert::NewDestination {
                    id,
                    org_id: org,
                    kind: &kind_text,
                    url: &url_text,
                    events: &events,
                    secret_enc: sealed.as_deref(),
                },
            )?;
            if let Some(a) = &audit {
                a.write(c)?;
            }
            Ok::<_, ServiceError>(d)
        })
        .await?;
    Ok(CreatedAlert {
        alert: stored.into(),
        secret,
    })
}

/// The destinations, oldest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
) -> Result<AlertList, ServiceError> {
    let org = scope.allow(caller)?;
    if let Scope::Org(o) = scope {
        state
            .db
            .run(move |c| Ok(crate::db::models::org::Org::find(c, o.0)?))
            .await
            .map_err(|e| ServiceError::from(e).naming("org"))?;
    }
    let items = state
        .db
        .run(move |c| Ok(alert::destinations(c, org)?))
        .await?;
    Ok(AlertList {
        items: items.into_iter().map(AlertView::from).collect(),
    })
}

/// Removes a destination (its queued notifications go with it).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    id: Uuid,
) -> Result<(), ServiceError> {
    let org = scope.allow(caller)?;
    let audit = scope.audit(
        caller,
        Action::AlertDeleted,
        "destination removed".into(),
        id,
    );
    state
        .db
        .transaction(move |c| {
            if alert::delete_destination(c, org, id)? == 0 {
                return Err(ServiceError::not_found("alert destination"));
            }
            if let Some(a) = &audit {
                a.write(c)?;
            }
            Ok(())
        })
        .await
}

/// Queues a test notification for one destination and sends it now.
pub async fn test(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    id: Uuid,
) -> Result<TestQueued, ServiceError> {
    let org = scope.allow(caller)?;
    let audit = scope.audit(
        caller,
        Action::AlertTested,
        "test notification sent".into(),
        id,
    );
    let give_up = Utc::now()
        + chrono::Duration::from_std(state.alerts.settings.retry_for).unwrap_or_default();
    let queued = state
        .db
        .transaction(move |c| {
            alert::destination(c, org, id)
                .map_err(|e| ServiceError::from(e).naming("alert destination"))?;
            let body = body::test(Utc::now(), org);
            alert::enqueue_to(c, &[id], body::TEST, &body, give_up)?;
            if let Some(a) = &audit {
                a.write(c)?;
            }
            Ok::<_, ServiceError>(alert::last_queued(c, id)?)
        })
        .await?;
    state.alerts.wake();
    Ok(TestQueued { webhook_id: queued })
}

/// The newest sends to one destination, newest first.
pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    id: Uuid,
) -> Result<DeliveryList, ServiceError> {
    let org = scope.allow(caller)?;
    let rows = state
        .db
        .run(move |c| {
            alert::destination(c, org, id)?;
            Ok(alert::deliveries(c, id, DELIVERIES_SHOWN)?)
        })
        .await
        .map_err(|e| ServiceError::from(e).naming("alert destination"))?;
    Ok(DeliveryList {
        items: rows
            .into_iter()
            .map(|d| DeliveryView {
                webhook_id: d.outbox_id,
                kind: d.type_,
                at: d.at,
                status: d.status,
                error: d.error,
            })
            .collect(),
    })
}
