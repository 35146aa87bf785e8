//! Webhook ingest (docs/contract/webhooks.md) and the events list (docs/contract/http-api.md):
//! every rule, each refusal checked for its status, its error shape, and that
//! nothing was stored.

mod events;
mod receive;
mod refusals;

use arkiter_lever::lever::signature::sign;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

pub const KEY: &str = "signature-token-of-webhook-one";
pub const KEY2: &str = "signature-token-of-webhook-two";
pub const STAGE: &str = "stage-arkiter-live";

pub struct Setup {
    pub app: TestApp,
    pub org: String,
    pub key: String,
    pub conn: String,
}

/// An app with one org whose connection is `status`, in stage `STAGE`,
/// with one webhook signed by `KEY`.
pub async fn setup(status: &str) -> Setup {
    let app = spawn_app().await;
    let (org, key) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, status, Some(STAGE), &[KEY]);
    Setup {
        app,
        org,
        key,
        conn,
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh 48-character delivery token.
pub fn new_token() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// A delivery signed with `key`.
pub fn signed(key: &str, token: &str, triggered_at: i64, event: &str, data: Value) -> Value {
    json!({
        "event": event,
        "triggeredAt": triggered_at,
        "token": token,
        "signature": sign(key, token, triggered_at),
        "data": data,
    })
}

/// A signed, fresh `candidateStageChange` of `opp` into `to_stage`.
pub fn stage_change(key: &str, opp: &str, to_stage: &str) -> Value {
    signed(
        key,
        &new_token(),
        now_ms(),
        "candidateStageChange",
        json!({
            "opportunityId": opp, "candidateId": opp, "contactId": "contact-1",
            "toStageId": to_stage, "fromStageId": "stage-phone-screen",
        }),
    )
}

/// `(events stored, rejected deliveries counted, deliveries recorded on health)`.
pub fn footprint(app: &TestApp, conn: &str) -> (i64, i64, i64) {
    (
        app.count(&format!(
            "SELECT count(*) AS n FROM lever_events WHERE connection_id = '{conn}'"
        )),
        app.count(&format!(
            "SELECT COALESCE(sum(count), 0)::BIGINT AS n FROM connection_counters \
             WHERE connection_id = '{conn}' AND kind = 'rejected'"
        )),
        app.count(&format!(
            // Heartbeats of the account's supervisor may exist; a delivery's
            // own trace is `last_received_at`.
            "SELECT count(*) AS n FROM connection_health WHERE connection_id = '{conn}' \
             AND last_received_at IS NOT NULL"
        )),
    )
}

/// `(status, reason)` of the one stored event with `token`.
pub fn stored(app: &TestApp, token: &str) -> (String, Option<String>) {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        reason: Option<String>,
    }
    let row: Row = diesel::sql_query("SELECT status, reason FROM lever_events WHERE token = $1")
        .bind::<diesel::sql_types::Text, _>(token)
        .get_result(&mut app.db())
        .unwrap();
    (row.status, row.reason)
}
