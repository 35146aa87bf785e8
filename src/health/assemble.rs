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
    let mut report = connection_report(rows, policy);
    report.alerts = rows.alerts.iter().map(alert).collect();
    if let Some(p) = alert_failing(rows, policy) {
        report.problems.push(p);
    }
    report
}

fn alert(d: &crate::db::models::alert::Destination) -> AlertHealth {
    AlertHealth {
        id: d.id,
        host: url::Url::parse(&d.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default(),
        last_status: d.last_status,
        failing_since: d.failing_since,
    }
}

/// A destination that has refused every notification for the policy's
/// time (an hour).
fn alert_failing(rows: &HealthRows, policy: &Policy) -> Option<Problem> {
    let after = chrono::Duration::from_std(policy.alert_failing_after).ok()?;
    let failing: Vec<&crate::db::models::alert::Destination> = rows
        .alerts
        .iter()
        .filter(|d| d.failing_since.is_some_and(|t| rows.now - t >= after))
        .collect();
    let first = failing.first()?;
    let host = alert(first).host;
    Some(Problem::new(
        "alert_failing",
        format!(
            "{} alert destination{} ha{} refused notifications for over an hour (first: {host}, last answer {}); \
             check the receiver, or remove the destination under Alerts",
            failing.len(),
            if failing.len() == 1 { "" } else { "s" },
            if failing.len() == 1 { "s" } else { "ve" },
            first
                .last_status
                .map_or_else(|| "none".to_owned(), |s| format!("HTTP {s}")),
        ),
    ))
}

fn connection_report(rows: &HealthRows, policy: &Policy) -> HealthReport {
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
            alerts: Vec::new(),
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
            alerts: Vec::new(),
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
    fn a_destination_refusing_for_an_hour_is_alert_failing_and_shows_its_host_only() {
        let now = Utc::now();
        let dest = |failing_for: Option<i64>| crate::db::models::alert::Destination {
            id: uuid::Uuid::nil(),
            org_id: None,
            kind: "slack".into(),
            url: "https://hooks.slack.com/services/T0/B0/secret".into(),
            events: Vec::new(),
            secret_enc: None,
            created_at: now,
            last_status: failing_for.map(|_| 500),
            failing_since: failing_for.map(|m| now - chrono::Duration::minutes(m)),
        };
        let report = |alerts| {
            build(
                &HealthRows {
                    now,
                    connection: Some(active(now)),
                    alerts,
                },
                &policy(),
            )
        };
        let r = report(vec![dest(Some(61)), dest(None)]);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["alerts"][0]["host"], "hooks.slack.com");
        assert!(!v.to_string().contains("secret"), "{v}");
        let failing: Vec<&Problem> = r
            .problems
            .iter()
            .filter(|p| p.code == "alert_failing")
            .collect();
        assert_eq!(failing.len(), 1);
        assert!(
            failing[0].message.contains("HTTP 500"),
            "{}",
            failing[0].message
        );
        let r = report(vec![dest(Some(59))]);
        assert!(r.problems.iter().all(|p| p.code != "alert_failing"));
    }

    #[test]
    fn never_connected_has_every_section_empty() {
        let now = Utc::now();
        let r = build(
            &HealthRows {
                now,
                connection: None,
                alerts: Vec::new(),
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
                alerts: Vec::new(),
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
                alerts: Vec::new(),
            },
            &policy(),
        );
        assert!(!r.supervisor.running);
    }
}
