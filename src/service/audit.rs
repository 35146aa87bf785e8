//! The audit log (docs/contract/audit.md): every admin action of an org,
//! with the acting key's id (or `super`), its time and a summary. An action
//! builds an [`Audit`] and writes it inside its own transaction, so the log
//! lists exactly what committed. Summaries name settings, roles, keys by
//! label and counts; never a secret, never candidate data.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::audit::{self, AuditEntry, NewAuditEntry};
use crate::domain::ids::OrgId;
use crate::service::ServiceError;
use crate::service::access::{Caller, KeyRole};
use crate::service::list::{List, ListQuery, org_page};
use crate::state::AppState;

/// What was done; its text is the `action` field of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrgCreated,
    KeyCreated,
    KeyDeleted,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    ConnectStarted,
    Disconnected,
    SettingsUpdated,
    WebhookSecretSet,
    SweepRequested,
    InterviewCancelled,
    InterviewReinvited,
    EventReplayed,
    EventsBulkReplayed,
    CandidateExported,
    CandidateErased,
    AlertCreated,
    AlertDeleted,
    AlertTested,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgCreated => "org.created",
            Self::KeyCreated => "key.created",
            Self::KeyDeleted => "key.deleted",
            Self::RoleCreated => "role.created",
            Self::RoleUpdated => "role.updated",
            Self::RoleDeleted => "role.deleted",
            Self::ConnectStarted => "lever.connect_started",
            Self::Disconnected => "lever.disconnected",
            Self::SettingsUpdated => "lever.settings_updated",
            Self::WebhookSecretSet => "lever.webhook_secret_set",
            Self::SweepRequested => "lever.sweep_requested",
            Self::InterviewCancelled => "interview.cancelled",
            Self::InterviewReinvited => "interview.reinvited",
            Self::EventReplayed => "event.replayed",
            Self::EventsBulkReplayed => "events.bulk_replayed",
            Self::CandidateExported => "candidate.exported",
            Self::CandidateErased => "candidate.erased",
            Self::AlertCreated => "alert.created",
            Self::AlertDeleted => "alert.deleted",
            Self::AlertTested => "alert.tested",
        }
    }
}

/// One action about to be recorded.
#[derive(Debug, Clone)]
pub struct Audit {
    org: OrgId,
    actor: String,
    action: Action,
    target: Option<String>,
    summary: String,
}

impl Audit {
    /// `caller` did `action` in `org`; `summary` holds no secret.
    pub fn new(caller: &Caller, org: OrgId, action: Action, summary: impl Into<String>) -> Self {
        Self {
            org,
            actor: actor(caller),
            action,
            target: None,
            summary: summary.into(),
        }
    }

    /// What the action was done to: a role, key, interview or event id, or
    /// a candidate's opportunity id (replaced when it is erased).
    pub fn on(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// Writes the row; call it inside the action's transaction.
    pub fn write(&self, c: &mut PgConnection) -> diesel::QueryResult<()> {
        audit::record(
            c,
            &NewAuditEntry {
                id: Uuid::now_v7(),
                org_id: self.org.0,
                actor: &self.actor,
                action: self.action.as_str(),
                target: self.target.as_deref(),
                summary: &self.summary,
            },
        )
    }
}

/// "changed a, b": the fields a request set, in the order given.
pub fn changed(fields: &[(&str, bool)]) -> String {
    let named: Vec<&str> = fields
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
    match named.is_empty() {
        true => "nothing changed".to_owned(),
        false => format!("changed {}", named.join(", ")),
    }
}

/// The key id of an org key; `super` for the super-admin token.
pub fn actor(caller: &Caller) -> String {
    match caller {
        Caller::Super => "super".to_owned(),
        Caller::Key { key_id, .. } => key_id.to_string(),
    }
}

/// One row of `GET /api/v1/orgs/{org}/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The acting key's id, or `super`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub summary: String,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.created_at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            summary: e.summary,
        }
    }
}

/// The org's log, oldest first (admins only).
#[tracing::instrument(skip_all, fields(org = %org))]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    query: &ListQuery,
) -> Result<List<AuditView>, ServiceError> {
    let load = move |c: &mut PgConnection, page| audit::list(c, org.0, page);
    org_page(
        state,
        caller,
        org,
        KeyRole::Admin,
        query,
        load,
        AuditView::from,
    )
    .await
}
