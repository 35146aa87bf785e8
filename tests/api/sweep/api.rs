//! `POST /api/v1/orgs/{org}/lever/sweep`, the sweep schedule the supervisor
//! drives, `source` on the events list, and the health page's `sweep` block
//! and problems, over rows seeded as the sweep writes them.

use std::time::Duration;

use arkiter_lever::db::models::sweep as schedule;
use serde_json::Value;
use uuid::Uuid;

use crate::health_report::{codes, health, message};
use crate::helpers::{TestApp, spawn_app_without_pipeline};
use crate::interviews_read::seed::{self, Conn, exec, org_with_member};

async fn sweep(app: &TestApp, org: &str, key: &str) -> (u16, Value) {
    let r = app
        .request(
            "POST",
            &format!("/api/v1/orgs/{org}/lever/sweep"),
            Some(key),
            None,
        )
        .await;
    (r.status, r.body)
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

#[actix_web::test]
async fn a_sweep_is_queued_once_for_an_active_connection() {
    let app = spawn_app_without_pipeline().await;
    let (org, admin, member) = org_with_member(&app, "Sweeper").await;

    // Never connected, then connected but not active: 409 not_connected.
    let (s, b) = sweep(&app, &org, &admin).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("not_connected")),
        "{b}"
    );
    let conn = seed::connection(
        &app,
        &org,
        Conn {
            status: "needs_reauth",
            ..Conn::default()
        },
    );
    let (s, b) = sweep(&app, &org, &admin).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("not_connected")),
        "{b}"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs_reauth")
    );
    exec(
        &app,
        &format!("UPDATE connections SET status = 'active' WHERE id = '{conn}'"),
    );

    // Members read only; another org's key and unknown orgs are refused.
    let (s, _) = sweep(&app, &org, &member).await;
    assert_eq!(s, 403);
    let (other, other_admin) = app.new_org("Other").await;
    let (s, _) = sweep(&app, &org, &other_admin).await;
    assert_eq!(s, 404);
    let (s, _) = sweep(&app, &Uuid::new_v4().to_string(), &app.admin()).await;
    assert_eq!(s, 404);
    let (s, b) = sweep(&app, &other, &other_admin).await;
    assert_eq!(s, 409, "{b}");

    // 202 with the time; asked again while queued: the same time, one request.
    let (s, first) = sweep(&app, &org, &admin).await;
    assert_eq!(s, 202, "{first}");
    let at = first["sweep_requested_at"].as_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&at).is_ok(), "{at}");
    let (s, again) = sweep(&app, &org, &app.admin()).await;
    assert_eq!(
        (s, again["sweep_requested_at"].as_str()),
        (202, Some(at.as_str()))
    );
    let c = uuid(&conn);
    let mut db = app.db();
    let due = schedule::due_at(&mut db, c).unwrap().unwrap();
    assert!(due <= chrono::Utc::now());

    // The supervisor claims it: running; a request meanwhile is not doubled.
    let started = schedule::begin(&mut db, c).unwrap().unwrap();
    let (_, during) = sweep(&app, &org, &admin).await;
    let during_at: chrono::DateTime<chrono::Utc> = during["sweep_requested_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        during_at.timestamp_micros(),
        started.started_at.timestamp_micros()
    );
    assert!(schedule::load(&mut db, c).unwrap().requested_at.is_none());

    // Finished: the figures are kept, the next periodic sweep is planned,
    // and a new request queues a new sweep.
    schedule::finish(&mut db, c, 3, Some(Duration::from_secs(900))).unwrap();
    let rec = schedule::load(&mut db, c).unwrap();
    assert_eq!(
        (rec.found_last, rec.found_total, rec.started_at),
        (3, 3, None)
    );
    let next = rec.next_at.unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::seconds(890));
    assert!(
        schedule::begin(&mut db, c).unwrap().is_none(),
        "nothing due"
    );
    assert_eq!(schedule::due_at(&mut db, c).unwrap(), Some(next));
    let (_, later) = sweep(&app, &org, &admin).await;
    assert_ne!(later["sweep_requested_at"].as_str(), Some(at.as_str()));
    assert!(schedule::begin(&mut db, c).unwrap().is_some());
    schedule::finish(&mut db, c, 2, None).unwrap();
    let rec = schedule::load(&mut db, c).unwrap();
    assert_eq!((rec.found_last, rec.found_total, rec.next_at), (2, 5, None));
    assert_eq!(
        schedule::due_at(&mut db, c).unwrap(),
        None,
        "periodic sweep off"
    );
}

#[actix_web::test]
async fn a_new_connection_is_due_at_once_and_a_restart_spreads_the_overdue() {
    let app = spawn_app_without_pipeline().await;
    let (org, _) = app.new_org("Schedule").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let c = uuid(&conn);
    let mut db = app.db();
    // Never swept: due now.
    assert!(schedule::due_at(&mut db, c).unwrap().unwrap() <= chrono::Utc::now());
    assert!(
        schedule::connections_with_due_sweeps(&mut db)
            .unwrap()
            .contains(&c)
    );
    let interval = Duration::from_secs(900);
    let phase = schedule::phase(c, interval).as_secs() as i64;
    let due_in = |db: &mut diesel::PgConnection| {
        let next = schedule::load(db, c).unwrap().next_at.unwrap();
        (next - chrono::Utc::now()).num_seconds()
    };
    // No row at all (connected before sweeps existed, as this seed is): a
    // supervisor taking it spreads it like an overdue one, so an upgrade
    // does not sweep every account at once.
    schedule::on_start(&mut db, &[c], Some(interval)).unwrap();
    let off = due_in(&mut db);
    assert!(
        (phase - 5..=phase + 1).contains(&off),
        "{off} vs phase {phase}"
    );
    // Connected through the flow (which makes it due): due now, and taking
    // it keeps it due.
    schedule::due_now(&mut db, c).unwrap();
    schedule::on_start(&mut db, &[c], Some(interval)).unwrap();
    assert!(schedule::due_at(&mut db, c).unwrap().unwrap() <= chrono::Utc::now());
    assert!(schedule::begin(&mut db, c).unwrap().is_some());
    schedule::finish(&mut db, c, 0, Some(interval)).unwrap();
    // Overdue after downtime: moved to the connection's phase in the interval.
    exec(
        &app,
        &format!(
            "UPDATE connection_sweeps SET next_at = now() - interval '1 hour' WHERE connection_id = '{conn}'"
        ),
    );
    schedule::on_start(&mut db, &[c], Some(interval)).unwrap();
    let off = due_in(&mut db);
    assert!(
        (phase - 5..=phase + 1).contains(&off),
        "{off} vs phase {phase}"
    );
    // Phases differ between connections and stay within the interval.
    let phases: std::collections::HashSet<u64> = (0..50)
        .map(|_| schedule::phase(Uuid::new_v4(), interval).as_secs())
        .collect();
    assert!(phases.len() > 30 && phases.iter().all(|p| *p < 900));
    // The registry's poll sees a connection only while its sweep is due.
    let due = schedule::connections_with_due_sweeps(&mut db).unwrap();
    assert_eq!(due.contains(&c), phase == 0, "due only at its phase");
    // (Re)connecting makes a sweep due now.
    schedule::due_now(&mut db, c).unwrap();
    assert!(
        schedule::connections_with_due_sweeps(&mut db)
            .unwrap()
            .contains(&c)
    );
    assert!(schedule::begin(&mut db, c).unwrap().is_some());
}

#[actix_web::test]
async fn events_carry_their_source() {
    let app = spawn_app_without_pipeline().await;
    let (org, admin) = app.new_org("Sources").await;
    let conn = seed::connection(&app, &org, Conn::default());
    seed::event(&app, &org, &conn, "done", 60.0);
    let found = arkiter_lever::sweep::record_findings(
        &mut app.db(),
        arkiter_lever::db::models::lever_event::findings::Target {
            connection_id: uuid(&conn),
            org_id: uuid(&org),
            stage_id: "stage-live",
        },
        &[arkiter_lever::sweep::Candidate {
            opportunity_id: "opp-missed".into(),
            entered_at: chrono::Utc::now().timestamp_millis(),
        }],
    )
    .unwrap();
    assert_eq!(found, ["opp-missed"]);
    let r = app.list_events(&org, "", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["source"], "sweep");
    assert_eq!(items[0]["opportunity_id"], "opp-missed");
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[1]["source"], "webhook");
}

#[actix_web::test]
async fn health_shows_the_sweep_and_what_it_found() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = org_with_member(&app, "Health").await;
    let before = health(&app, &org, &member).await;
    assert_eq!(
        before["sweep"],
        serde_json::json!({"last_at": null, "next_at": null, "found_last": 0, "found_total": 0,
                           "failing_since": null, "last_error": null})
    );
    let conn = seed::connection(&app, &org, Conn::default());
    crate::health_report::record(&app, &conn, 1.0, Some(30.0));
    let r = health(&app, &org, &member).await;
    assert_eq!(r["sweep"]["found_total"], 0);
    assert!(codes(&r).is_empty(), "{r}");

    let c = uuid(&conn);
    let mut db = app.db();
    schedule::finish(&mut db, c, 4, Some(Duration::from_secs(900))).unwrap();
    schedule::finish(&mut db, c, 2, Some(Duration::from_secs(900))).unwrap();
    schedule::webhook_repaired(&mut db, c).unwrap();
    let r = health(&app, &org, &member).await;
    assert_eq!(r["sweep"]["found_last"], 2);
    assert_eq!(r["sweep"]["found_total"], 6);
    assert!(r["sweep"]["last_at"].is_string() && r["sweep"]["next_at"].is_string());
    assert_eq!(codes(&r), ["missed_deliveries", "webhook_repaired"]);
    let m = message(&r, "missed_deliveries");
    assert!(m.contains("found 2 candidates"), "{m}");
    assert!(message(&r, "webhook_repaired").contains("registered again"));

    // The repair notice clears after 24 hours; a clean sweep clears the other.
    exec(
        &app,
        &format!(
            "UPDATE connection_sweeps SET webhook_repaired_at = now() - interval '25 hours' WHERE connection_id = '{conn}'"
        ),
    );
    schedule::finish(&mut db, c, 0, Some(Duration::from_secs(900))).unwrap();
    assert!(codes(&health(&app, &org, &member).await).is_empty());

    // Manual mode: the webhook is gone from Lever.
    let url = format!("https://arkiter.example/webhooks/lever/{conn}");
    schedule::webhook_missing(&mut db, c, Some(&url)).unwrap();
    let r = health(&app, &org, &member).await;
    assert_eq!(codes(&r), ["webhook_missing"]);
    let m = message(&r, "webhook_missing");
    assert!(m.contains(&url), "{m}");
    assert!(
        m.contains("Settings > Integrations and API > Webhooks"),
        "{m}"
    );
    assert!(
        m.contains(&format!("PUT /api/v1/orgs/{org}/lever/webhook-secret")),
        "{m}"
    );
    schedule::webhook_missing(&mut db, c, None).unwrap();
    assert!(codes(&health(&app, &org, &member).await).is_empty());
}

#[actix_web::test]
async fn a_failed_sweep_is_not_a_sweep_that_ran_and_its_request_stays_queued() {
    let app = spawn_app_without_pipeline().await;
    let (org, admin, member) = org_with_member(&app, "Outage").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let c = uuid(&conn);
    let mut db = app.db();
    schedule::finish(&mut db, c, 1, Some(Duration::from_secs(900))).unwrap();
    let ran = schedule::load(&mut db, c).unwrap();

    // Asked for, begun, failed: last_at and the figures stay, the request
    // is queued again, and it is due only once the backoff has passed.
    let (s, asked) = sweep(&app, &org, &admin).await;
    assert_eq!(s, 202, "{asked}");
    let begun = schedule::begin(&mut db, c).unwrap().expect("due");
    assert!(begun.requested_at.is_some());
    let backoff = schedule::Backoff {
        first: Duration::from_secs(60),
        max: Duration::from_secs(100),
    };
    let why = "list_opportunities gave up after 8 attempts: HTTP 503";
    schedule::failed(&mut db, c, &begun, why, backoff).unwrap();
    let rec = schedule::load(&mut db, c).unwrap();
    assert_eq!(rec.last_at, ran.last_at, "a failed sweep did not run");
    assert_eq!((rec.found_last, rec.found_total), (1, 1));
    assert_eq!(rec.requested_at, begun.requested_at, "still requested");
    assert_eq!(rec.failing_since, Some(begun.started_at));
    assert!(
        schedule::begin(&mut db, c).unwrap().is_none(),
        "backing off"
    );
    let due = schedule::due_at(&mut db, c).unwrap().unwrap();
    let ahead = (due - chrono::Utc::now()).num_seconds();
    assert!(
        (55..=60).contains(&ahead),
        "first retry after 60 s: {ahead}"
    );
    let (_, again) = sweep(&app, &org, &admin).await;
    assert_eq!(again["sweep_requested_at"], asked["sweep_requested_at"]);

    let r = health(&app, &org, &member).await;
    assert_eq!(r["sweep"]["last_error"], why, "{r}");
    assert!(r["sweep"]["failing_since"].is_string(), "{r}");
    assert!(message(&r, "sweep_failing").contains(why), "{r}");
    assert_eq!(r["status"], "degraded", "{r}");

    // The retry comes due, fails again: the backoff doubles up to its cap
    // and the failure keeps its first time.
    exec(
        &app,
        &format!(
            "UPDATE connection_sweeps SET retry_at = now(), next_at = now() WHERE connection_id = '{conn}'"
        ),
    );
    let second = schedule::begin(&mut db, c).unwrap().expect("due again");
    schedule::failed(&mut db, c, &second, why, backoff).unwrap();
    let rec = schedule::load(&mut db, c).unwrap();
    assert_eq!(rec.failing_since, Some(begun.started_at));
    let ahead = (rec.next_at.unwrap() - chrono::Utc::now()).num_seconds();
    assert!(
        (95..=100).contains(&ahead),
        "doubled, capped at 100 s: {ahead}"
    );

    // A sweep that runs ends it all: the request is served, the problem goes.
    exec(
        &app,
        &format!(
            "UPDATE connection_sweeps SET retry_at = now(), next_at = now() WHERE connection_id = '{conn}'"
        ),
    );
    assert!(schedule::begin(&mut db, c).unwrap().is_some());
    schedule::finish(&mut db, c, 0, Some(Duration::from_secs(900))).unwrap();
    let rec = schedule::load(&mut db, c).unwrap();
    assert!(rec.last_at > ran.last_at);
    assert_eq!(
        (rec.requested_at, rec.failing_since, rec.last_error),
        (None, None, None)
    );
    let r = health(&app, &org, &member).await;
    assert!(!codes(&r).contains(&"sweep_failing".to_owned()), "{r}");
}

#[test]
fn sweep_interval_setting() {
    use arkiter_lever::config::Settings;
    let with = |v: &str| {
        let v = v.to_owned();
        Settings::from_lookup(move |k| (k == "ARKITER_SWEEP_INTERVAL").then(|| v.clone()))
    };
    let default = Settings::from_lookup(|_| None).unwrap();
    assert_eq!(default.sweep_interval, Some(Duration::from_secs(900)));
    assert_eq!(with("0").unwrap().sweep_interval, None);
    assert_eq!(
        with(" 60 ").unwrap().sweep_interval,
        Some(Duration::from_secs(60))
    );
    for bad in ["-1", "15m", "1.5", "604801"] {
        let e = with(bad).unwrap_err();
        assert_eq!(e.var, "ARKITER_SWEEP_INTERVAL", "{bad}");
        assert!(e.to_string().contains(bad), "{e}");
    }
}
