//! What a notification says: the JSON body every webhook destination gets
//! (`{"type","timestamp","data":{...}}`), and the one line a Slack
//! destination gets instead (`{"text"}`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// Notification types a destination may ask for.
pub const PROBLEM_OPENED: &str = "problem.opened";
pub const PROBLEM_RESOLVED: &str = "problem.resolved";
pub const STATUS_CHANGED: &str = "connection.status_changed";
/// The operator's notifications about the instances themselves.
pub const INSTANCE_STARTED: &str = "instance.started";
pub const INSTANCE_STOPPED: &str = "instance.stopped";
pub const LEASE_TAKEN_OVER: &str = "lease.taken_over";
/// A test send (every destination gets it when asked for one).
pub const TEST: &str = "test";
/// What an org's destination gets when it names no `events`.
pub const ALL: [&str; 3] = [PROBLEM_OPENED, PROBLEM_RESOLVED, STATUS_CHANGED];
/// What an operator's destination gets when it names no `events`.
pub const OPERATOR_ALL: [&str; 6] = [
    PROBLEM_OPENED,
    PROBLEM_RESOLVED,
    STATUS_CHANGED,
    INSTANCE_STARTED,
    INSTANCE_STOPPED,
    LEASE_TAKEN_OVER,
];

/// A connection's notification.
pub fn connection(
    kind: &str,
    at: DateTime<Utc>,
    org: Uuid,
    connection: Uuid,
    code: &str,
    message: &str,
) -> Value {
    json!({
        "type": kind,
        "timestamp": at,
        "data": {"org_id": org, "connection_id": connection, "code": code, "message": message},
    })
}

/// The operator's summary of one problem code across orgs.
pub fn summary(at: DateTime<Utc>, code: &str, orgs: &[Uuid]) -> Value {
    let message = format!(
        "{} org{} newly affected by {code}",
        orgs.len(),
        if orgs.len() == 1 { "" } else { "s" }
    );
    json!({
        "type": PROBLEM_OPENED,
        "timestamp": at,
        "data": {"org_id": null, "connection_id": null, "code": code, "message": message,
                 "org_ids": orgs},
    })
}

/// An operator's notification about instance `instance` (its
/// `ARKITER_INSTANCE_ID`); `extra` adds to its `data`.
pub fn instance(
    kind: &str,
    at: DateTime<Utc>,
    instance: &str,
    message: &str,
    extra: Value,
) -> Value {
    let mut data = json!({"org_id": null, "connection_id": null, "code": kind,
                          "message": message, "instance_id": instance});
    if let (Some(data), Value::Object(more)) = (data.as_object_mut(), extra) {
        data.extend(more);
    }
    json!({ "type": kind, "timestamp": at, "data": data })
}

/// A test notification for one destination.
pub fn test(at: DateTime<Utc>, org: Option<Uuid>) -> Value {
    json!({
        "type": TEST,
        "timestamp": at,
        "data": {"org_id": org, "connection_id": null, "code": "test",
                 "message": "a test notification from Arkiter Live for Lever"},
    })
}

/// Slack's body for a notification: one line of text.
pub fn slack(body: &Value) -> Value {
    let data = &body["data"];
    let kind = body["type"].as_str().unwrap_or("notification");
    let head = match kind {
        PROBLEM_OPENED => "Problem",
        PROBLEM_RESOLVED => "Resolved",
        STATUS_CHANGED => "Connection status",
        INSTANCE_STARTED | INSTANCE_STOPPED => "Instance",
        LEASE_TAKEN_OVER => "Takeover",
        _ => "Test",
    };
    let text = format!(
        "Arkiter Live for Lever · {head}: {} ({})",
        data["message"].as_str().unwrap_or_default(),
        data["code"].as_str().unwrap_or_default(),
    );
    json!({ "text": text })
}
