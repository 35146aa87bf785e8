//! Control operations on the simulator (seed, move, revoke, faults, read
//! back), shared by the `/_sim/` HTTP API and [`super::SimHandle`].

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Sim;
use super::delivery;
use super::exec::Reply;
use super::faults::FaultRule;
use super::feedback::{self, NewFeedbackField, NewFeedbackTemplate};
use super::ops;
use super::state::{
    Account, AuthorizeMode, Bucket, SimApplication, SimFeedbackTemplate, SimNote, SimOpportunity,
    SimPosting, SimStage, SimUser, new_id, now_ms,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// What the control API shows of an account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub webhooks_enabled: bool,
    pub webhooks_api: bool,
    pub authorize_mode: AuthorizeMode,
    pub rate_per_sec: f64,
    pub rate_capacity: f64,
}

/// Settings of an account a test may change; absent fields stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountPatch {
    #[serde(default)]
    pub webhooks_enabled: Option<bool>,
    #[serde(default)]
    pub webhooks_api: Option<bool>,
    #[serde(default)]
    pub authorize_mode: Option<AuthorizeMode>,
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    #[serde(default)]
    pub rate_capacity: Option<f64>,
    /// Scopes the Super Admin's consent leaves out of the grant, whatever
    /// the app asks for (an account whose consent predates a scope).
    #[serde(default)]
    pub withheld_scopes: Option<Vec<String>>,
}

/// A candidate to seed. Without `contact`, a new contact is made; give the
/// contact of another opportunity to model one person with two jobs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewOpportunity {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    pub stage_id: String,
    #[serde(default)]
    pub posting_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// An opportunity as a test checks it: stage, tags, the contact's links,
/// notes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpportunityView {
    pub id: String,
    pub contact: String,
    pub stage: String,
    pub tags: Vec<String>,
    pub links: Vec<String>,
    pub notes: Vec<SimNote>,
    /// `None` while active.
    pub archived: Option<crate::state::SimArchived>,
}

fn view(account: &Account) -> AccountView {
    AccountView {
        id: account.id.clone(),
        name: account.name.clone(),
        webhooks_enabled: account.webhooks_enabled,
        webhooks_api: account.webhooks_api,
        authorize_mode: account.authorize_mode,
        rate_per_sec: account.bucket.rate,
        rate_capacity: account.bucket.capacity,
    }
}

impl Sim {
    pub(super) fn with_account<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Account) -> Result<T, SimError>,
    ) -> Result<T, SimError> {
        let mut state = self.lock();
        let account = state
            .accounts
            .get_mut(id)
            .ok_or_else(|| SimError::NotFound(format!("account {id}")))?;
        f(account)
    }

    pub(crate) fn create_account(&self, id: Option<String>, name: Option<String>) -> AccountView {
        let id = id.unwrap_or_else(new_id);
        let account = Account {
            id: id.clone(),
            name: name.unwrap_or_else(|| format!("Account {}", &id[..8.min(id.len())])),
            stages: Vec::new(),
            postings: Vec::new(),
            users: Vec::new(),
            opportunity_order: Vec::new(),
            opportunities: HashMap::new(),
            contact_links: HashMap::new(),
            notes: HashMap::new(),
            feedback_templates: vec![feedback::no_feedback_template()],
            feedback: HashMap::new(),
            files: HashMap::new(),
            webhooks: Vec::new(),
            archive_reasons: crate::state::default_archive_reasons(),
            deleted: Vec::new(),
            withheld_scopes: Vec::new(),
            webhooks_enabled: true,
            webhooks_api: true,
            authorize_mode: AuthorizeMode::Consent,
            faults: Vec::new(),
            bucket: Bucket::new(self.config.rate_per_sec, self.config.rate_capacity),
            deliveries: Vec::new(),
        };
        let shown = view(&account);
        let mut state = self.lock();
        state.accounts.insert(id.clone(), account);
        state.last_created = Some(id);
        shown
    }

    pub(crate) fn account(&self, id: &str) -> Result<AccountView, SimError> {
        self.with_account(id, |a| Ok(view(a)))
    }

    pub(crate) fn login(&self, id: &str) -> Result<(), SimError> {
        self.account(id)?;
        self.lock().login = Some(id.to_owned());
        Ok(())
    }

    pub(crate) fn patch_account(
        &self,
        id: &str,
        patch: AccountPatch,
    ) -> Result<AccountView, SimError> {
        self.with_account(id, |a| {
            if let Some(v) = patch.webhooks_enabled {
                a.webhooks_enabled = v;
            }
            if let Some(v) = patch.webhooks_api {
                a.webhooks_api = v;
            }
            if let Some(v) = patch.authorize_mode {
                a.authorize_mode = v;
            }
            if let Some(v) = patch.withheld_scopes {
                a.withheld_scopes = v;
            }
            if patch.rate_per_sec.is_some() || patch.rate_capacity.is_some() {
                a.bucket = Bucket::new(
                    patch.rate_per_sec.unwrap_or(a.bucket.rate),
                    patch.rate_capacity.unwrap_or(a.bucket.capacity),
                );
            }
            Ok(view(a))
        })
    }

    pub(crate) fn add_stage(
        &self,
        account: &str,
        id: Option<String>,
        text: &str,
    ) -> Result<SimStage, SimError> {
        self.with_account(account, |a| {
            let stage = SimStage {
                id: id.unwrap_or_else(new_id),
                text: text.to_owned(),
            };
            a.stages.push(stage.clone());
            Ok(stage)
        })
    }

    pub(crate) fn add_posting(
        &self,
        account: &str,
        id: Option<String>,
        text: &str,
        tags: Vec<String>,
    ) -> Result<SimPosting, SimError> {
        self.with_account(account, |a| {
            let posting = SimPosting {
                id: id.unwrap_or_else(new_id),
                text: text.to_owned(),
                state: "published".to_owned(),
                team: None,
                tags,
                created_at: now_ms(),
            };
            a.postings.push(posting.clone());
            Ok(posting)
        })
    }

    /// Replaces a posting's tags, as an admin editing the posting would.
    pub(crate) fn set_posting_tags(
        &self,
        account: &str,
        posting: &str,
        tags: Vec<String>,
    ) -> Result<SimPosting, SimError> {
        self.with_account(account, |a| {
            let p = a
                .postings
                .iter_mut()
                .find(|p| p.id == posting)
                .ok_or_else(|| SimError::NotFound(format!("posting {posting}")))?;
            p.tags = tags;
            Ok(p.clone())
        })
    }

    /// A feedback template made by the customer in Lever's settings (not
    /// via the API), checked as the API checks one.
    pub(crate) fn add_feedback_template(
        &self,
        account: &str,
        new: NewFeedbackTemplate,
    ) -> Result<SimFeedbackTemplate, SimError> {
        self.with_account(account, |a| {
            let template = feedback::build_template(new, false).map_err(SimError::BadRequest)?;
            a.feedback_templates.push(template.clone());
            Ok(template)
        })
    }

    /// [`Self::add_feedback_template`] from a text and fields.
    pub(crate) fn add_feedback_template_fields(
        &self,
        account: &str,
        text: &str,
        fields: Vec<NewFeedbackField>,
    ) -> Result<SimFeedbackTemplate, SimError> {
        let new = NewFeedbackTemplate {
            text: text.to_owned(),
            fields,
            ..NewFeedbackTemplate::default()
        };
        self.add_feedback_template(account, new)
    }

    pub(crate) fn add_user(
        &self,
        account: &str,
        id: Option<String>,
        name: &str,
        email: &str,
    ) -> Result<SimUser, SimError> {
        self.with_account(account, |a| {
            let user = SimUser {
                id: id.unwrap_or_else(new_id),
                name: name.to_owned(),
                email: email.to_owned(),
                access_role: "super admin".to_owned(),
            };
            a.users.push(user.clone());
            Ok(user)
        })
    }

    pub(crate) fn add_opportunity(
        &self,
        account: &str,
        new: NewOpportunity,
    ) -> Result<SimOpportunity, SimError> {
        self.with_account(account, |a| {
            if !a.stages.iter().any(|s| s.id == new.stage_id) {
                return Err(SimError::BadRequest(format!(
                    "stage {} not seeded",
                    new.stage_id
                )));
            }
            let now = now_ms();
            let id = new.id.unwrap_or_else(new_id);
            let opp = SimOpportunity {
                name: new
                    .name
                    .unwrap_or_else(|| format!("Candidate {}", a.opportunities.len() + 1)),
                contact: new.contact.unwrap_or_else(new_id),
                emails: new.emails,
                stage: new.stage_id,
                stage_changes: Vec::new(),
                tags: new.tags,
                applications: new
                    .posting_id
                    .map(|p| SimApplication {
                        id: new_id(),
                        posting: Some(p),
                        kind: "posting".to_owned(),
                        created_at: now,
                    })
                    .into_iter()
                    .collect(),
                archived: None,
                confidential: false,
                created_at: now,
                updated_at: now,
                id: id.clone(),
            };
            a.opportunity_order.push(id.clone());
            a.opportunities.insert(id, opp.clone());
            Ok(opp)
        })
    }

    /// Moves opportunities (as a recruiter in the UI would) and sends the
    /// stage-change webhooks. Returns how many moved.
    pub(crate) fn move_opportunities(
        self: &Arc<Self>,
        account: &str,
        ids: &[String],
        stage: &str,
    ) -> Result<usize, SimError> {
        let planned = {
            let mut state = self.lock();
            let mut planned = Vec::new();
            for id in ids {
                planned.extend(
                    ops::move_opportunity(&mut state, account, id, stage, None)
                        .map_err(reply_error)?,
                );
            }
            planned
        };
        delivery::spawn_all(self, planned);
        Ok(ids.len())
    }

    /// Archives an opportunity with `reason` (an archive reason id), or
    /// unarchives it with `None`, as a recruiter in the UI would, and sends
    /// the archive (and, for a hired reason, hired) webhooks.
    pub(crate) fn archive_opportunity(
        self: &Arc<Self>,
        account: &str,
        id: &str,
        reason: Option<&str>,
    ) -> Result<(), SimError> {
        let planned = {
            let mut state = self.lock();
            ops::archive_opportunity(&mut state, account, id, reason).map_err(reply_error)?
        };
        delivery::spawn_all(self, planned);
        Ok(())
    }

    /// Deletes an opportunity, as an admin in the UI would: it leaves every
    /// list and read, `GET /opportunities/deleted` lists it, and
    /// `candidateDeleted` is sent.
    pub(crate) fn delete_opportunity(
        self: &Arc<Self>,
        account: &str,
        id: &str,
    ) -> Result<(), SimError> {
        let planned = {
            let mut state = self.lock();
            ops::delete_opportunity(&mut state, account, id).map_err(reply_error)?
        };
        delivery::spawn_all(self, planned);
        Ok(())
    }

    /// Makes an opportunity confidential (or not), as tying it to a
    /// confidential posting would.
    pub(crate) fn set_confidential(
        &self,
        account: &str,
        id: &str,
        on: bool,
    ) -> Result<(), SimError> {
        self.with_account(account, |a| {
            let o = a
                .opportunities
                .get_mut(id)
                .ok_or_else(|| SimError::NotFound(format!("opportunity {id}")))?;
            o.confidential = on;
            Ok(())
        })
    }

    /// Moves opportunities with no webhook at all, as when Lever gave up
    /// after its tries, or the moves happened while our webhook was gone:
    /// the `stageChanges` entries exist, nothing is delivered or recorded
    /// as a delivery. Returns how many moved.
    pub(crate) fn move_without_delivery(
        &self,
        account: &str,
        ids: &[String],
        stage: &str,
    ) -> Result<usize, SimError> {
        let mut state = self.lock();
        for id in ids {
            ops::apply_move(&mut state, account, id, stage, None).map_err(reply_error)?;
        }
        Ok(ids.len())
    }

    /// An access token (valid for `access_ttl_ms`) and a refresh token for
    /// `account`, as a past consent to `client_id` with `scope` would have
    /// left them (for seeding many connected accounts without running each
    /// one's OAuth flow).
    pub(crate) fn grant_tokens(&self, account: &str, grant: &SeededGrant) -> Result<(), SimError> {
        self.account(account)?;
        let mut state = self.lock();
        state.access.insert(
            grant.access_token.clone(),
            crate::state::AccessGrant {
                account_id: account.to_owned(),
                scope: grant.scope.clone(),
                expires_at_ms: now_ms().saturating_add(grant.access_ttl_ms),
            },
        );
        state.refresh.insert(
            grant.refresh_token.clone(),
            crate::state::RefreshGrant {
                account_id: account.to_owned(),
                client_id: grant.client_id.clone(),
                scope: grant.scope.clone(),
            },
        );
        Ok(())
    }

    /// The Super Admin revokes the app: every token of the account dies.
    pub(crate) fn revoke(&self, account: &str) -> Result<(), SimError> {
        self.account(account)?;
        let mut state = self.lock();
        state.access.retain(|_, g| g.account_id != account);
        let revoked: Vec<String> = state
            .refresh
            .iter()
            .filter(|(_, g)| g.account_id == account)
            .map(|(t, _)| t.clone())
            .collect();
        for token in revoked {
            state.refresh.remove(&token);
            state.dead_refresh.insert(token, account.to_owned());
        }
        state.codes.retain(|_, g| g.account_id != account);
        Ok(())
    }

    /// Makes the account's access tokens expired (refresh tokens live on).
    pub(crate) fn expire_access_tokens(&self, account: &str) -> Result<(), SimError> {
        self.account(account)?;
        let mut state = self.lock();
        let past = now_ms() - 1;
        for grant in state
            .access
            .values_mut()
            .filter(|g| g.account_id == account)
        {
            grant.expires_at_ms = past;
        }
        Ok(())
    }

    pub(crate) fn add_fault(&self, account: &str, rule: FaultRule) -> Result<(), SimError> {
        let rule = rule.normalise(now_ms());
        self.with_account(account, |a| {
            a.faults.push(rule);
            Ok(())
        })
    }

    pub(crate) fn clear_faults(&self, account: &str) -> Result<(), SimError> {
        self.with_account(account, |a| {
            a.faults.clear();
            Ok(())
        })
    }

    /// Forgets everything (accounts, grants, calls).
    pub(crate) fn reset(&self) {
        *self.lock() = super::state::SimState::default();
    }
}

fn reply_error(reply: Reply) -> SimError {
    let message = reply
        .body
        .as_ref()
        .and_then(|b| b.get("message"))
        .and_then(|m| m.as_str())
        .unwrap_or("refused")
        .to_owned();
    if reply.status == 404 {
        SimError::NotFound(message)
    } else {
        SimError::BadRequest(message)
    }
}

/// Tokens to seed for an account ([`crate::SimHandle::grant_tokens`]).
#[derive(Debug, Clone)]
pub struct SeededGrant {
    pub client_id: String,
    pub scope: String,
    pub access_token: String,
    pub access_ttl_ms: i64,
    pub refresh_token: String,
}
