//! `GET /api/v1/orgs/{org}/lever/health` (docs/contract/health.md): over what the
//! supervisor wrote while it worked a real account (`driven`), and over rows
//! seeded as the supervisor, ingest and the pipeline write them, for the
//! statuses, figures and problems that need exact figures or ages a test
//! cannot wait for (an hour-old counter, a heartbeat five minutes stale).

mod driven;
mod figures;
mod status;

use serde_json::Value;

use crate::helpers::TestApp;
use crate::interviews_read::seed::{self, Conn, ago, exec};

/// The report, asserting 200.
pub async fn health(app: &TestApp, org: &str, key: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/orgs/{org}/lever/health"), Some(key))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

pub fn codes(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The message of problem `code`.
pub fn message(report: &Value, code: &str) -> String {
    let found = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == code);
    found.unwrap_or_else(|| panic!("no {code} in {report}"))["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The supervisor's `connection_health` row: running, beating `beat_ago_s` ago.
pub fn record(app: &TestApp, conn: &str, beat_ago_s: f64, received_ago_s: Option<f64>) {
    exec(
        app,
        &format!(
            "INSERT INTO connection_health (connection_id, supervisor_running, instance, \
             heartbeat_at, restarts, last_received_at, last_success_at) VALUES ('{conn}', true, \
             'host-a:4711', {}, 0, {}, now() - interval '30 seconds')",
            ago(Some(beat_ago_s)),
            ago(received_ago_s),
        ),
    );
}

/// A `connection_counters` row of `kind`, `minutes_ago` minutes back.
pub fn counter(app: &TestApp, conn: &str, kind: &str, minutes_ago: i64, count: i32) {
    exec(
        app,
        &format!(
            "INSERT INTO connection_counters (connection_id, kind, minute, count) VALUES \
             ('{conn}', '{kind}', date_trunc('minute', now()) - interval '{minutes_ago} minutes', \
             {count})"
        ),
    );
}

/// A live managed webhook row.
pub fn managed_webhook(app: &TestApp, conn: &str) {
    exec(
        app,
        &format!(
            "INSERT INTO lever_webhooks (id, connection_id, lever_webhook_id, url, managed, \
             signature_token_enc) VALUES ('{}', '{conn}', 'wh-1', 'https://x.test/h', true, \
             '\\x00'::bytea)",
            uuid::Uuid::new_v4()
        ),
    );
}

/// An org with a member key and an active connection with nothing wrong:
/// connected an hour ago, a fresh heartbeat, a delivery 5 minutes ago, a
/// managed webhook. Returns `(org, member_key, connection)`.
pub async fn healthy_org(app: &TestApp) -> (String, String, String) {
    let (org, _, member) = seed::org_with_member(app, "Acme").await;
    let conn = seed::connection(app, &org, Conn::default());
    record(app, &conn, 5.0, Some(300.0));
    managed_webhook(app, &conn);
    (org, member, conn)
}
