//! [`SimHandle`]: a running simulator, its URLs, and the control operations
//! for Rust tests (the same ones the `/_sim/` HTTP API offers).

use std::sync::Arc;

use actix_web::dev::ServerHandle;

use super::Sim;
use super::faults::FaultRule;
use super::feedback::NewFeedbackField;
use super::manage::{
    AccountPatch, AccountView, NewOpportunity, OpportunityView, SeededGrant, SimError,
};
use super::state::{
    CallRecord, DeliveryRecord, SimFeedbackForm, SimFeedbackTemplate, SimFile, SimOpportunity,
    SimPosting, SimStage, SimUser, SimWebhook,
};

/// A running simulator. Cheap to clone; `stop` ends the server.
#[derive(Clone)]
pub struct SimHandle {
    sim: Arc<Sim>,
    server: ServerHandle,
    base_url: String,
    cert_pem: Option<String>,
}

impl SimHandle {
    pub(crate) fn new(
        sim: Arc<Sim>,
        server: ServerHandle,
        base_url: String,
        cert_pem: Option<String>,
    ) -> Self {
        Self {
            sim,
            server,
            base_url,
            cert_pem,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://` with TLS).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The Data API base, `LEVER_API_URL` for the client.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// The OAuth host, `LEVER_AUTH_URL` for the client.
    pub fn auth_url(&self) -> String {
        self.base_url.clone()
    }

    /// The throwaway certificate (PEM) when serving HTTPS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    pub async fn stop(&self) {
        self.server.stop(false).await;
    }

    pub fn create_account(&self, name: &str) -> String {
        self.sim.create_account(None, Some(name.to_owned())).id
    }

    pub fn account(&self, id: &str) -> Result<AccountView, SimError> {
        self.sim.account(id)
    }

    /// Makes `/authorize` act for this account's Super Admin.
    pub fn login(&self, account: &str) -> Result<(), SimError> {
        self.sim.login(account)
    }

    pub fn patch_account(
        &self,
        account: &str,
        patch: AccountPatch,
    ) -> Result<AccountView, SimError> {
        self.sim.patch_account(account, patch)
    }

    pub fn add_stage(&self, account: &str, text: &str) -> Result<SimStage, SimError> {
        self.sim.add_stage(account, None, text)
    }

    pub fn add_posting(&self, account: &str, text: &str) -> Result<SimPosting, SimError> {
        self.sim.add_posting(account, None, text, Vec::new())
    }

    /// Replaces a posting's `tags`, as an admin editing the posting would.
    pub fn set_posting_tags(
        &self,
        account: &str,
        posting: &str,
        tags: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<SimPosting, SimError> {
        let tags = tags.into_iter().map(Into::into).collect();
        self.sim.set_posting_tags(account, posting, tags)
    }

    /// Seeds a feedback template made by the customer in Lever (not via
    /// the API); checked as `POST /feedback_templates` checks one, each
    /// field gets an id.
    pub fn add_feedback_template(
        &self,
        account: &str,
        text: &str,
        fields: Vec<NewFeedbackField>,
    ) -> Result<SimFeedbackTemplate, SimError> {
        self.sim.add_feedback_template_fields(account, text, fields)
    }

    /// The account's feedback templates (API-made and seeded), oldest first.
    pub fn feedback_templates(&self, account: &str) -> Result<Vec<SimFeedbackTemplate>, SimError> {
        self.sim.feedback_templates(account)
    }

    /// The feedback forms written on a candidate, oldest first.
    pub fn feedback(&self, account: &str, opp: &str) -> Result<Vec<SimFeedbackForm>, SimError> {
        self.sim.feedback(account, opp)
    }

    /// The files uploaded to a candidate, oldest first, with their bytes.
    pub fn files(&self, account: &str, opp: &str) -> Result<Vec<SimFile>, SimError> {
        self.sim.files(account, opp)
    }

    pub fn add_user(&self, account: &str, name: &str, email: &str) -> Result<SimUser, SimError> {
        self.sim.add_user(account, None, name, email)
    }

    pub fn add_opportunity(
        &self,
        account: &str,
        new: NewOpportunity,
    ) -> Result<SimOpportunity, SimError> {
        self.sim.add_opportunity(account, new)
    }

    /// Moves candidates as a recruiter would; webhooks follow asynchronously.
    /// Must be called on an actix System (deliveries are spawned).
    pub fn move_opportunities(
        &self,
        account: &str,
        ids: &[String],
        stage: &str,
    ) -> Result<usize, SimError> {
        self.sim.move_opportunities(account, ids, stage)
    }

    /// Archives a candidate with an archive reason id (`None` unarchives),
    /// as a recruiter would; webhooks follow asynchronously. Must be called
    /// on an actix System.
    pub fn archive(&self, account: &str, opp: &str, reason: Option<&str>) -> Result<(), SimError> {
        self.sim.archive_opportunity(account, opp, reason)
    }

    /// Deletes a candidate, as an admin would; `candidateDeleted` follows
    /// asynchronously. Must be called on an actix System.
    pub fn delete(&self, account: &str, opp: &str) -> Result<(), SimError> {
        self.sim.delete_opportunity(account, opp)
    }

    /// Makes a candidate confidential (or not).
    pub fn set_confidential(&self, account: &str, opp: &str, on: bool) -> Result<(), SimError> {
        self.sim.set_confidential(account, opp, on)
    }

    /// Moves candidates with no webhook delivery at all (what the sweep is
    /// for): Lever gave up, or the webhook was off or gone.
    pub fn move_without_delivery(
        &self,
        account: &str,
        ids: &[String],
        stage: &str,
    ) -> Result<usize, SimError> {
        self.sim.move_without_delivery(account, ids, stage)
    }

    /// Deletes every webhook of the account (API-made ones included), as a
    /// Lever admin could; returns how many went.
    pub fn delete_webhooks(&self, account: &str) -> Result<usize, SimError> {
        self.sim.delete_webhooks(account, None)
    }

    /// Deletes one webhook of the account.
    pub fn delete_webhook(&self, account: &str, webhook: &str) -> Result<(), SimError> {
        self.sim.delete_webhooks(account, Some(webhook)).map(|_| ())
    }

    /// The Super Admin turns the webhook group off (`false`) or on.
    pub fn set_webhooks_enabled(&self, account: &str, on: bool) -> Result<(), SimError> {
        self.sim.set_webhooks_enabled(account, on)
    }

    /// Seeds an access and a refresh token of `account`, as if its Super
    /// Admin had consented (bulk set-ups skip the OAuth flow).
    pub fn grant_tokens(&self, account: &str, grant: &SeededGrant) -> Result<(), SimError> {
        self.sim.grant_tokens(account, grant)
    }

    pub fn revoke(&self, account: &str) -> Result<(), SimError> {
        self.sim.revoke(account)
    }

    pub fn expire_access_tokens(&self, account: &str) -> Result<(), SimError> {
        self.sim.expire_access_tokens(account)
    }

    pub fn add_fault(&self, account: &str, rule: FaultRule) -> Result<(), SimError> {
        self.sim.add_fault(account, rule)
    }

    pub fn clear_faults(&self, account: &str) -> Result<(), SimError> {
        self.sim.clear_faults(account)
    }

    /// Every OAuth and `/v1` call so far, oldest first.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.sim.calls(None)
    }

    pub fn calls_for(&self, account: &str) -> Vec<CallRecord> {
        self.sim.calls(Some(account))
    }

    /// The paths of `account`'s calls a latency fault is holding right now
    /// (arrived, not yet answered).
    pub fn in_flight(&self, account: &str) -> Vec<String> {
        self.sim.held_calls(account)
    }

    pub fn clear_call_log(&self) {
        self.sim.clear_calls();
    }

    pub fn opportunity(&self, account: &str, opp: &str) -> Result<OpportunityView, SimError> {
        self.sim.opportunity_view(account, opp)
    }

    pub fn deliveries(&self, account: &str) -> Result<Vec<DeliveryRecord>, SimError> {
        self.sim.deliveries(account)
    }

    pub fn webhooks(&self, account: &str) -> Result<Vec<SimWebhook>, SimError> {
        self.sim.webhooks(account)
    }

    pub fn add_ui_webhook(
        &self,
        account: &str,
        url: &str,
        event: &str,
    ) -> Result<SimWebhook, SimError> {
        self.sim.add_ui_webhook(account, url, event)
    }

    pub fn test_ping(&self, account: &str, webhook: &str) -> Result<(), SimError> {
        self.sim.test_ping(account, webhook)
    }

    pub fn reset(&self) {
        self.sim.reset();
    }
}
