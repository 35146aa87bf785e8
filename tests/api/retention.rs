//! Retention (docs/contract/retention.md): one pass over backdated rows
//! deletes exactly what is old enough and of a kind that goes, keeps every
//! newer row, every interview and every `dead` event younger than 90 days,
//! and a Lever rerun 14 days after the first delivery is still a duplicate.

use arkiter_lever::retention::{self, Pruned};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_without_pipeline};
use crate::interviews_read::seed::exec;
use crate::webhooks::{KEY, STAGE, new_token, now_ms, signed, stage_change};

const DAYS: u32 = 30;
const DAY_MS: i64 = 86_400_000;

/// Stores one ignored delivery; its row id.
async fn event(app: &TestApp, conn: &str) -> String {
    let body = stage_change(
        KEY,
        &format!("opp-{}", uuid::Uuid::new_v4()),
        "stage-elsewhere",
    );
    let r = app.post_webhook(conn, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = body["token"].as_str().unwrap();
    id_of(app, "lever_events", &format!("token = '{token}'"))
}

fn id_of(app: &TestApp, table: &str, filter: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("SELECT id::text AS id FROM {table} WHERE {filter}"))
        .get_result::<Id>(&mut app.db())
        .unwrap()
        .id
}

/// Sets an event's status and arrival `days` ago.
fn age_event(app: &TestApp, id: &str, status: &str, days: i64) {
    exec(
        app,
        &format!(
            "UPDATE lever_events SET status = '{status}', \
             received_at = now() - interval '{days} days' WHERE id = '{id}'"
        ),
    );
}

fn exists(app: &TestApp, table: &str, filter: &str) -> bool {
    app.count(&format!("SELECT COUNT(*) AS n FROM {table} WHERE {filter}")) == 1
}

fn pass(app: &TestApp, days: u32) -> Pruned {
    retention::pass(&mut app.db(), days)
        .unwrap()
        .expect("no other pass holds the lock")
}

/// What health reports that retention must not change.
async fn figures(app: &TestApp, org: &str, key: &str) -> Value {
    let h = app
        .get(&format!("/api/v1/orgs/{org}/lever/health"), Some(key))
        .await;
    assert_eq!(h.status, 200, "{}", h.body);
    let b = &h.body;
    json!([
        b["queue"]["pending"],
        b["queue"]["retrying"],
        b["webhook"]["rejected_last_hour"],
        b["lever_api"]["errors_last_hour"],
        b["sweep"]["found_total"],
    ])
}

#[actix_web::test]
async fn one_pass_deletes_what_is_old_and_keeps_the_rest() {
    let app = spawn_app_without_pipeline().await;
    let (org, key) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some(STAGE), &[KEY]);
    app.add_signature_token(&conn, "old-key", true);
    app.add_signature_token(&conn, "older-key", true);

    // Events: (status, age in days, kept?).
    let cases = [
        ("ignored", 31, false),
        ("done", 31, false),
        ("done", 29, true),
        ("ignored", 0, true),
        ("pending", 31, true),
        ("retrying", 31, true),
        ("dead", 89, true),
        ("dead", 91, false),
    ];
    let mut events = Vec::new();
    for (status, days, kept) in cases {
        let id = event(&app, &conn).await;
        age_event(&app, &id, status, days);
        events.push((id, status, days, kept));
    }
    // An interview made from an event that goes: it stays, unlinked.
    let linked_to = &events[1].0;
    exec(
        &app,
        &format!(
            "INSERT INTO interviews (id, org_id, connection_id, event_id, opportunity_id, rule, \
             status, live_token, results_token, created_at) VALUES (gen_random_uuid(), '{org}', \
             '{conn}', '{linked_to}', 'opp-old', 'title', 'results_posted', 'lv-old', 'rs-old', \
             now() - interval '200 days')"
        ),
    );
    let interview = id_of(&app, "interviews", "live_token = 'lv-old'");
    // Jobs: (status, days since last update, kept?).
    let jobs = [
        ("done", 31, false),
        ("done", 29, true),
        ("dead", 91, false),
        ("dead", 89, true),
        ("pending", 31, true),
    ];
    for (i, (status, days, _)) in jobs.iter().enumerate() {
        exec(
            &app,
            &format!(
                "INSERT INTO jobs (id, connection_id, interview_id, kind, status, created_at, updated_at) \
                 VALUES ('00000000-0000-0000-0000-00000000000{i}', '{conn}', '{interview}', 'complete', \
                 '{status}', now() - interval '{days} days', now() - interval '{days} days')"
            ),
        );
    }
    let other_tables = [
        // Counters by minute.
        "INSERT INTO connection_counters (connection_id, kind, minute, count) VALUES \
         ('{conn}', 'rejected', date_trunc('minute', now() - interval '31 days'), 7), \
         ('{conn}', 'rejected', date_trunc('minute', now()), 2)",
        // Instances by last heartbeat.
        "INSERT INTO instances (id, heartbeat_at) VALUES \
         ('crashed-long-ago', now() - interval '31 days'), ('crashed-lately', now() - interval '1 day')",
        // Console sessions and OAuth states by expiry.
        "INSERT INTO console_sessions (id_sha256, role, csrf_token, created_at, expires_at) VALUES \
         ('\\x01', 'super', 'c1', now() - interval '32 days', now() - interval '31 days'), \
         ('\\x02', 'super', 'c2', now() - interval '2 days', now() - interval '1 day')",
        "INSERT INTO oauth_states (state_sha256, org_id, connection_id, created_at, expires_at) VALUES \
         ('\\x01', '{org}', '{conn}', now() - interval '31 days', now() - interval '31 days'), \
         ('\\x02', '{org}', '{conn}', now() - interval '1 day', now() - interval '1 day')",
        // Claims by `until`.
        "INSERT INTO candidate_claims (connection_id, opportunity_id, unit_id, owner, epoch, until) VALUES \
         ('{conn}', 'opp-claimed-long-ago', gen_random_uuid(), 'crashed', 1, now() - interval '31 days'), \
         ('{conn}', 'opp-claimed-lately', gen_random_uuid(), 'crashed', 1, now() - interval '1 hour')",
        // Deleted webhooks: the 16-day window, not the setting.
        "UPDATE lever_webhooks SET deleted_at = now() - interval '17 days' \
         WHERE connection_id = '{conn}' AND deleted_at IS NOT NULL AND created_at = \
         (SELECT min(created_at) FROM lever_webhooks WHERE connection_id = '{conn}' AND deleted_at IS NOT NULL)",
        "UPDATE lever_webhooks SET deleted_at = now() - interval '15 days' \
         WHERE connection_id = '{conn}' AND deleted_at > now() - interval '1 day'",
        // Call records: one old enough to go, one not.
        "INSERT INTO lever_calls (connection_id, candidate_key, unit_id, route, status, \
         duration_ms, attempt, sent_at) VALUES \
         ('{conn}', 'k1', gen_random_uuid(), 'GET /stages', 200, 5, 1, now() - interval '31 days'), \
         ('{conn}', 'k1', gen_random_uuid(), 'GET /stages', 200, 5, 1, now() - interval '29 days')",
    ];
    for sql in other_tables {
        exec(&app, &sql.replace("{conn}", &conn).replace("{org}", &org));
    }
    let before = figures(&app, &org, &key).await;

    let p = pass(&app, DAYS);

    for (id, status, days, kept) in &events {
        assert_eq!(
            exists(&app, "lever_events", &format!("id = '{id}'")),
            *kept,
            "a {status} event {days} days old"
        );
    }
    assert!(exists(
        &app,
        "interviews",
        &format!("id = '{interview}' AND event_id IS NULL")
    ));
    for (i, (status, days, kept)) in jobs.iter().enumerate() {
        assert_eq!(
            exists(
                &app,
                "jobs",
                &format!("id = '00000000-0000-0000-0000-00000000000{i}'")
            ),
            *kept,
            "a {status} job {days} days old"
        );
    }
    let left = |sql: &str| app.count(&format!("SELECT COUNT(*) AS n FROM {sql}"));
    assert_eq!(left("connection_counters WHERE count = 2"), 1);
    assert_eq!(left("connection_counters"), 1);
    assert_eq!(left("instances WHERE id LIKE 'crashed%'"), 1);
    assert!(exists(&app, "instances", "id = 'crashed-lately'"));
    assert_eq!(left("console_sessions"), 1);
    assert!(exists(&app, "console_sessions", "csrf_token = 'c2'"));
    assert_eq!(left("oauth_states"), 1);
    assert_eq!(
        left("lever_calls WHERE sent_at > now() - interval '30 days'"),
        1
    );
    assert_eq!(left("lever_calls"), 1);
    assert_eq!(left("candidate_claims"), 1);
    assert!(exists(
        &app,
        "candidate_claims",
        "opportunity_id = 'opp-claimed-lately'"
    ));
    assert_eq!(
        left(&format!("lever_webhooks WHERE connection_id = '{conn}'")),
        2
    );
    assert_eq!(
        left(&format!(
            "lever_webhooks WHERE connection_id = '{conn}' AND deleted_at IS NULL"
        )),
        1
    );
    assert_eq!(
        p,
        Pruned {
            events: 2,
            dead_events: 1,
            jobs: 1,
            dead_jobs: 1,
            counters: 1,
            instances: 1,
            console_sessions: 1,
            oauth_states: 1,
            claims: 1,
            webhooks: 1,
            calls: 1,
            alerts: 0,
        }
    );
    assert_eq!(figures(&app, &org, &key).await, before);
    // A second pass finds nothing more.
    assert_eq!(pass(&app, DAYS).total(), 0);
}

#[actix_web::test]
async fn a_rerun_14_days_after_the_first_delivery_stores_nothing_new() {
    let app = spawn_app_without_pipeline().await;
    let (org, _) = app.new_org("Acme").await;
    let conn = app.insert_connection(&org, "active", Some(STAGE), &[KEY]);
    // Lever's rerun resends the delivery as it was: same token and triggeredAt.
    let body = signed(
        KEY,
        &new_token(),
        now_ms() - 14 * DAY_MS,
        "candidateStageChange",
        json!({"opportunityId": "opp-rerun", "toStageId": STAGE, "fromStageId": "stage-x"}),
    );
    assert_eq!(
        app.post_webhook(&conn, &body).await.body["status"],
        "accepted"
    );
    let token = body["token"].as_str().unwrap();
    exec(
        &app,
        &format!(
            "UPDATE lever_events SET status = 'done', received_at = now() - interval '14 days' \
             WHERE token = '{token}'"
        ),
    );
    pass(&app, arkiter_lever::config::MIN_RETENTION_DAYS);
    let again = app.post_webhook(&conn, &body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["status"], "duplicate");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM lever_events WHERE opportunity_id = 'opp-rerun'"),
        1
    );
}

#[actix_web::test]
async fn a_pass_on_another_instance_is_not_run_twice() {
    let app = spawn_app_without_pipeline().await;
    use diesel::RunQueryDsl;
    let mut holder = app.db();
    diesel::sql_query(format!("SELECT pg_advisory_lock({})", retention::LOCK_KEY))
        .execute(&mut holder)
        .unwrap();
    assert_eq!(retention::pass(&mut app.db(), DAYS).unwrap(), None);
    diesel::sql_query("SELECT pg_advisory_unlock_all()")
        .execute(&mut holder)
        .unwrap();
    assert!(retention::pass(&mut app.db(), DAYS).unwrap().is_some());
}
