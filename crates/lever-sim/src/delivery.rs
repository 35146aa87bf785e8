//! Webhook deliveries: what Lever POSTs when a candidate moves, signed as
//! docs/contract/lever-facts.md says, retried with growing gaps on non-2xx answers.
//!
//! Deliveries are planned while the state is locked (so the record exists
//! before the move call answers) and sent from spawned tasks, so a move of
//! 1,000 candidates answers at once. Each delivery has one fresh 48-character
//! token and `triggeredAt`, reused across its retries.

use std::sync::Arc;
use std::time::Duration;

use lever_api::signature;
use lever_api::wire::events;
use serde_json::{Value, json};

use super::Sim;
use super::state::{DeliveryRecord, SimArchived, SimState, now_ms, random_hex};

/// A delivery planned under the lock, sent after it is released.
pub(crate) struct PendingDelivery {
    pub account_id: String,
    pub record_id: u64,
    pub url: String,
    pub signature_token: Option<String>,
    pub event: String,
    pub data: Value,
}

/// Plans `candidateStageChange` to every matching webhook of the account,
/// unless the Super Admin turned the webhook group off.
pub(crate) fn plan_stage_change(
    state: &mut SimState,
    account_id: &str,
    opportunity_id: &str,
    contact_id: &str,
    from_stage: &str,
    to_stage: &str,
) -> Vec<PendingDelivery> {
    let data = json!({
        "opportunityId": opportunity_id,
        "candidateId": opportunity_id,
        "contactId": contact_id,
        "toStageId": to_stage,
        "fromStageId": from_stage,
    });
    plan(
        state,
        account_id,
        events::CANDIDATE_STAGE_CHANGE,
        None,
        &data,
        true,
    )
}

/// Plans `candidateArchiveChange` for an archive (`to` set), an unarchive
/// (`to` empty) or a change of reason. The `toArchived`/`fromArchived`
/// objects follow the UNCONFIRMED shape of docs/contract/lever-facts-lifecycle.md.
pub(crate) fn plan_archive_change(
    state: &mut SimState,
    account_id: &str,
    opportunity_id: &str,
    contact_id: &str,
    from: Option<&SimArchived>,
    to: Option<&SimArchived>,
) -> Vec<PendingDelivery> {
    let shown = |a: Option<&SimArchived>| {
        a.map(|a| json!({"archivedAt": a.archived_at, "reason": a.reason}))
    };
    let data = json!({
        "opportunityId": opportunity_id,
        "candidateId": opportunity_id,
        "contactId": contact_id,
        "toArchived": shown(to),
        "fromArchived": shown(from),
    });
    plan(
        state,
        account_id,
        events::CANDIDATE_ARCHIVE_CHANGE,
        None,
        &data,
        true,
    )
}

/// Plans a candidate event whose `data` carries only the candidate's ids:
/// `candidateHired` (an archive with a reason of the hired type) or
/// `candidateDeleted` (its `data` fields are UNCONFIRMED; the ids are sent
/// as the other candidate events send them).
pub(crate) fn plan_candidate_event(
    state: &mut SimState,
    account_id: &str,
    event: &str,
    opportunity_id: &str,
    contact_id: &str,
) -> Vec<PendingDelivery> {
    let data = json!({
        "opportunityId": opportunity_id,
        "candidateId": opportunity_id,
        "contactId": contact_id,
    });
    plan(state, account_id, event, None, &data, true)
}

/// Plans Lever's "Test" ping (`candidateHired`, empty `data`) to one
/// webhook; sent even when the group is off, like the settings button.
pub(crate) fn plan_test_ping(
    state: &mut SimState,
    account_id: &str,
    webhook_id: &str,
) -> Vec<PendingDelivery> {
    let data = json!({});
    plan(
        state,
        account_id,
        events::CANDIDATE_HIRED,
        Some(webhook_id),
        &data,
        false,
    )
}

fn plan(
    state: &mut SimState,
    account_id: &str,
    event: &str,
    only_webhook: Option<&str>,
    data: &Value,
    respect_toggle: bool,
) -> Vec<PendingDelivery> {
    let mut next = state.next_delivery;
    let Some(account) = state.accounts.get_mut(account_id) else {
        return Vec::new();
    };
    if respect_toggle && !account.webhooks_enabled {
        return Vec::new();
    }
    let targets: Vec<_> = account
        .webhooks
        .iter()
        .filter(|w| only_webhook.map_or(w.event == event, |id| w.id == id))
        .cloned()
        .collect();
    let mut planned = Vec::with_capacity(targets.len());
    for hook in targets {
        next += 1;
        account.deliveries.push(DeliveryRecord {
            id: next,
            webhook_id: hook.id.clone(),
            url: hook.url.clone(),
            event: event.to_owned(),
            opportunity_id: data
                .get("opportunityId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            attempts: 0,
            status: None,
            delivered: false,
            finished: false,
            last_error: None,
        });
        planned.push(PendingDelivery {
            account_id: account_id.to_owned(),
            record_id: next,
            url: hook.url,
            signature_token: hook.signature_token,
            event: event.to_owned(),
            data: data.clone(),
        });
    }
    state.next_delivery = next;
    planned
}

/// Starts every planned delivery on the current arbiter.
pub(crate) fn spawn_all(sim: &Arc<Sim>, planned: Vec<PendingDelivery>) {
    for delivery in planned {
        actix_rt::spawn(deliver(sim.clone(), delivery));
    }
}

async fn deliver(sim: Arc<Sim>, d: PendingDelivery) {
    let token = random_hex(24);
    let triggered_at = now_ms();
    let mut body = json!({
        "triggeredAt": triggered_at,
        "event": d.event,
        "data": d.data,
        "token": token,
    });
    if let (Some(key), Some(obj)) = (&d.signature_token, body.as_object_mut()) {
        obj.insert(
            "signature".to_owned(),
            Value::String(signature::sign(key, &token, triggered_at)),
        );
    }
    let attempts = sim.config.delivery_attempts.max(1);
    for attempt in 1..=attempts {
        let result = sim
            .delivery_http
            .client()
            .post(&d.url)
            .insert_header(("User-Agent", "Lever-Webhooks"))
            .send_json(&body)
            .await;
        let (status, error) = match result {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        update(
            &sim,
            &d,
            attempt,
            status,
            error,
            ok,
            ok || attempt == attempts,
        );
        if ok {
            return;
        }
        if attempt < attempts {
            let factor = 2u32.saturating_pow(attempt - 1);
            actix_rt::time::sleep(gap(sim.config.delivery_retry_base, factor)).await;
        }
    }
}

fn gap(base: Duration, factor: u32) -> Duration {
    base.saturating_mul(factor)
}

fn update(
    sim: &Sim,
    d: &PendingDelivery,
    attempt: u32,
    status: Option<u16>,
    error: Option<String>,
    delivered: bool,
    finished: bool,
) {
    let mut state = sim.lock();
    let Some(account) = state.accounts.get_mut(&d.account_id) else {
        return;
    };
    // Records are appended in id order, so a binary search finds ours.
    if let Ok(i) = account
        .deliveries
        .binary_search_by_key(&d.record_id, |r| r.id)
    {
        let record = &mut account.deliveries[i];
        record.attempts = attempt;
        record.status = status;
        record.last_error = error;
        record.delivered = delivered;
        record.finished = finished;
    }
}
