//! Read-back and webhook-settings operations of the control API: the call
//! log, an opportunity's tags/links/notes, feedback forms and files, the
//! feedback templates, deliveries, UI-made webhooks and the "Test" button.

use std::sync::Arc;

use super::Sim;
use super::delivery;
use super::manage::{OpportunityView, SimError};
use super::state::{
    Account, CallRecord, DeliveryRecord, SimFeedbackForm, SimFeedbackTemplate, SimFile, SimWebhook,
    new_id, now_ms, random_hex,
};

impl Sim {
    pub(crate) fn calls(&self, account: Option<&str>) -> Vec<CallRecord> {
        let state = self.lock();
        state
            .calls
            .iter()
            .filter(|c| account.is_none_or(|a| c.account_id.as_deref() == Some(a)))
            .cloned()
            .collect()
    }

    /// The paths of `account`'s calls a latency fault is holding now.
    pub(crate) fn held_calls(&self, account: &str) -> Vec<String> {
        self.lock()
            .held
            .iter()
            .filter(|(a, _, _)| a.as_deref() == Some(account))
            .map(|(_, _, path)| path.clone())
            .collect()
    }

    pub(crate) fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    pub(crate) fn opportunity_view(
        &self,
        account: &str,
        opp: &str,
    ) -> Result<OpportunityView, SimError> {
        self.with_account(account, |a| {
            let o = a
                .opportunities
                .get(opp)
                .ok_or_else(|| SimError::NotFound(format!("opportunity {opp}")))?;
            Ok(OpportunityView {
                id: o.id.clone(),
                contact: o.contact.clone(),
                stage: o.stage.clone(),
                tags: o.tags.clone(),
                links: a.contact_links.get(&o.contact).cloned().unwrap_or_default(),
                notes: a.notes.get(opp).cloned().unwrap_or_default(),
                archived: o.archived.clone(),
            })
        })
    }

    pub(crate) fn feedback_templates(
        &self,
        account: &str,
    ) -> Result<Vec<SimFeedbackTemplate>, SimError> {
        self.with_account(account, |a| Ok(a.feedback_templates.clone()))
    }

    /// The feedback forms written on an opportunity, oldest first.
    pub(crate) fn feedback(
        &self,
        account: &str,
        opp: &str,
    ) -> Result<Vec<SimFeedbackForm>, SimError> {
        self.with_account(account, |a| {
            known(a, opp)?;
            Ok(a.feedback.get(opp).cloned().unwrap_or_default())
        })
    }

    /// The files uploaded to an opportunity, oldest first, bytes included.
    pub(crate) fn files(&self, account: &str, opp: &str) -> Result<Vec<SimFile>, SimError> {
        self.with_account(account, |a| {
            known(a, opp)?;
            Ok(a.files.get(opp).cloned().unwrap_or_default())
        })
    }

    pub(crate) fn deliveries(&self, account: &str) -> Result<Vec<DeliveryRecord>, SimError> {
        self.with_account(account, |a| Ok(a.deliveries.clone()))
    }

    pub(crate) fn webhooks(&self, account: &str) -> Result<Vec<SimWebhook>, SimError> {
        self.with_account(account, |a| Ok(a.webhooks.clone()))
    }

    /// A webhook made by an admin in Lever's settings page (not via the
    /// API): for accounts without the webhooks API.
    pub(crate) fn add_ui_webhook(
        &self,
        account: &str,
        url: &str,
        event: &str,
    ) -> Result<SimWebhook, SimError> {
        self.with_account(account, |a| {
            let now = now_ms();
            let hook = SimWebhook {
                id: new_id(),
                url: url.to_owned(),
                event: event.to_owned(),
                signature_token: Some(random_hex(24)),
                conditions: None,
                via_api: false,
                created_at: now,
                updated_at: now,
            };
            a.webhooks.push(hook.clone());
            Ok(hook)
        })
    }

    /// Deletes webhooks of the account as a Lever admin could (API-made
    /// ones included): all of them, or only `webhook`. Returns how many
    /// went; an unknown `webhook` is `NotFound`.
    pub(crate) fn delete_webhooks(
        &self,
        account: &str,
        webhook: Option<&str>,
    ) -> Result<usize, SimError> {
        self.with_account(account, |a| {
            let before = a.webhooks.len();
            a.webhooks.retain(|w| webhook.is_some_and(|id| w.id != id));
            let deleted = before - a.webhooks.len();
            match webhook {
                Some(id) if deleted == 0 => Err(SimError::NotFound(format!("webhook {id}"))),
                _ => Ok(deleted),
            }
        })
    }

    /// The Super Admin's toggle of the webhook group: off, nothing is sent
    /// (the webhooks stay listed, as in Lever).
    pub(crate) fn set_webhooks_enabled(&self, account: &str, on: bool) -> Result<(), SimError> {
        self.with_account(account, |a| {
            a.webhooks_enabled = on;
            Ok(())
        })
    }

    /// The settings page's "Test" button for one webhook.
    pub(crate) fn test_ping(
        self: &Arc<Self>,
        account: &str,
        webhook: &str,
    ) -> Result<(), SimError> {
        let planned = {
            let mut state = self.lock();
            let known = state
                .accounts
                .get(account)
                .is_some_and(|a| a.webhooks.iter().any(|w| w.id == webhook));
            if !known {
                return Err(SimError::NotFound(format!("webhook {webhook}")));
            }
            delivery::plan_test_ping(&mut state, account, webhook)
        };
        delivery::spawn_all(self, planned);
        Ok(())
    }
}

fn known(account: &Account, opp: &str) -> Result<(), SimError> {
    if account.opportunities.contains_key(opp) {
        Ok(())
    } else {
        Err(SimError::NotFound(format!("opportunity {opp}")))
    }
}
