//! Rows → report: every section of docs/contract/health.md from the figures read.

use chrono::{DateTime, Utc};

use super::Policy;
use super::problems::{age_s, problems};
use super::report::*;
use super::rows::{ConnectionRows, HealthRows, LinkLatency};
use super::status::{status, throttled};

/// The report for one org. Never connected: status `not_connected`, every
/// section present with nulls, zeros and empty lists.
pub fn build(rows: &HealthRows, policy: &Policy) -> HealthReport {
    let now = rows.now;
    let status = status(rows.connection.as_ref(), now);
    match &rows.connection {
        None => HealthReport {
            status,
            checked_at: now,
            token: TokenHealth::default(),
            webhook: WebhookHealth::default(),
            stage: StageHealth::default(),
            stages: Vec::new(),
            queue: QueueHealth::default(),
            lever_api: LeverApiHealth::default(),
            latency_ms: LatencyHealth::default(),
            supervisor: SupervisorHealth::default(),
            sweep: SweepHealth::default(),
            webhooks: Vec::new(),
            unmapped_postings: Vec::new(),
            problems: Vec::new(),
        },
        Some(c) => HealthReport {
            status,
            checked_at: now,
            token: token(c),
            webhook: webhook(c),
            stage: stage(c),
            stages: c
                .stages
                .iter()
                .map(|s| StageHealth {
                    id: s.id.clone(),
                    name: Some(s.name.clone()),
                    found: s.found,
                })
                .collect(),
            queue: queue(c),
            lever_api: lever_api(c, now),
            latency_ms: latency(c.latency),
            supervisor: supervisor(c, now, policy),
            sweep: sweep(c),
            webhooks: webhooks(c),
            unmapped_postings: c.unmapped.clone(),
            problems: problems(c, now, policy),
        },
    }
}

fn token(c: &ConnectionRows) -> TokenHealth {
    TokenHealth {
        state: Some(c.token_state),
        expires_at: c.token_expires_at,
        last_refreshed_at: c.last_refreshed_at,
    }
}

fn webhook(c: &ConnectionRows) -> WebhookHealth {
    WebhookHealth {
        managed: c.managed_webhook,
        last_received_at: c.record.last_received_at,
        rejected_last_hour: c.rejected_last_hour,
    }
}

/// Every event the service registers a webhook for, registered or not (a
/// connection made before the lifecycle events shows those missing).
fn webhooks(c: &ConnectionRows) -> Vec<EventWebhookHealth> {
    crate::connections::setup::MANAGED_EVENTS
        .iter()
        .map(|event| {
            let row = c.webhook_events.iter().find(|(e, _)| e == event);
            let last_received_at = if *event == crate::lever::wire::events::CANDIDATE_STAGE_CHANGE {
                c.record.last_received_at
            } else {
                c.lifecycle_received
                    .iter()
                    .find(|(e, _)| e == event)
                    .map(|(_, at)| *at)
            };
            EventWebhookHealth {
                event: (*event).to_owned(),
                managed: row.map_or(c.managed_webhook, |(_, m)| *m),
                present: row.is_some(),
                last_received_at,
            }
        })
        .collect()
}

fn stage(c: &ConnectionRows) -> StageHealth {
    StageHealth {
        id: c.stage_id.clone(),
        name: Some(c.stage_name.clone()),
        found: c.stage_found,
    }
}

fn queue(c: &ConnectionRows) -> QueueHealth {
    QueueHealth {
        pending: c.queue.pending,
        retrying: c.queue.retrying,
        dead: c.queue.dead(),
        oldest_pending_age_s: c.queue.oldest_pending_age_s,
    }
}

fn lever_api(c: &ConnectionRows, now: DateTime<Utc>) -> LeverApiHealth {
    LeverApiHealth {
        last_success_at: c.record.last_success_at,
        last_error: c.record.last_error.clone(),
        errors_last_hour: c.lever_errors_last_hour,
        // A past throttle is history, not state.
        throttled_until: c.record.throttled_until.filter(|_| throttled(c, now)),
    }
}

fn latency(l: LinkLatency) -> LatencyHealth {
    // Whole milliseconds: finer is noise next to Lever's own latency.
    let ms = |v: Option<f64>| v.map(|f| f.round() as i64);
    LatencyHealth {
        link_p50: ms(l.p50),
        link_p95: ms(l.p95),
    }
}

fn sweep(c: &ConnectionRows) -> SweepHealth {
    SweepHealth {
        last_at: c.sweep.last_at,
        next_at: c.sweep.next_at,
        found_last: i64::from(c.sweep.found_last),
        found_total: c.sweep.found_total,
        failing_since: c.sweep.failing_since,
        last_error: c.sweep.failing_since.and(c.sweep.last_error.clone()),
    }
}

/// `running` needs a fresh heartbeat too: a killed instance cannot clear its flag.
fn supervisor(c: &ConnectionRows, now: DateTime<Utc>, policy: &Policy) -> SupervisorHealth {
    let fresh = c
        .record
        .heartbeat_at
        .is_some_and(|t| age_s(now, t) <= policy.supervisor_stale_after.as_secs() as i64);
    SupervisorHealth {
        running: c.record.running && fresh,
        instance: c.record.instance.clone(),
        heartbeat_at: c.record.heartbeat_at,
        restarts: c.record.restarts,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::health::tests::{active, policy};

    #[test]
    fn never_connected_has_every_section_empty() {
        let now = Utc::now();
        let r = build(
            &HealthRows {
                now,
                connection: None,
            },
            &policy(),
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "not_connected");
        assert_eq!(
            v["token"],
            json!({"state": null, "expires_at": null, "last_refreshed_at": null})
        );
        assert_eq!(
            v["queue"],
            json!({"pending": 0, "retrying": 0, "dead": 0, "oldest_pending_age_s": 0})
        );
        assert_eq!(v["latency_ms"], json!({"link_p50": null, "link_p95": null}));
        assert_eq!(v["unmapped_postings"], json!([]));
        assert_eq!(v["problems"], json!([]));
    }

    #[test]
    fn sections_come_from_the_rows() {
        let now = Utc::now();
        let mut c = active(now);
        c.queue.pending = 2;
        c.queue.dead_jobs = 1;
        c.queue.dead_events = 1;
        c.latency = LinkLatency {
            p50: Some(1200.4),
            p95: Some(1999.6),
        };
        c.record.throttled_until = Some(now - Duration::seconds(3));
        let r = build(
            &HealthRows {
                now,
                connection: Some(c),
            },
            &policy(),
        );
        assert_eq!((r.queue.pending, r.queue.dead), (2, 2));
        assert_eq!(
            (r.latency_ms.link_p50, r.latency_ms.link_p95),
            (Some(1200), Some(2000))
        );
        assert_eq!(r.lever_api.throttled_until, None);
        assert!(r.supervisor.running);
        assert_eq!(r.stage.name.as_deref(), Some("Arkiter Live"));
    }

    #[test]
    fn a_stale_heartbeat_is_not_running() {
        let now = Utc::now();
        let mut c = active(now);
        c.record.heartbeat_at = Some(now - Duration::minutes(5));
        let r = build(
            &HealthRows {
                now,
                connection: Some(c),
            },
            &policy(),
        );
        assert!(!r.supervisor.running);
    }
}
