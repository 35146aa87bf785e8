//! The figures of the report: queue, latency, counters, and the problems
//! computed from them and from the clock.

use std::time::Duration;

use serde_json::json;

use super::{codes, counter, health, healthy_org, managed_webhook, message, record};
use crate::helpers::{spawn_app_without_pipeline, spawn_app_without_pipeline_with};
use crate::interviews_read::seed::{self, Conn, Iv, exec};

#[actix_web::test]
async fn the_queue_counts_events_and_jobs_and_ages_the_oldest() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    seed::event(&app, &org, &conn, "pending", 120.0);
    seed::event(&app, &org, &conn, "retrying", 200.0);
    seed::event(&app, &org, &conn, "dead", 9_000.0);
    seed::event(&app, &org, &conn, "done", 9_000.0);
    seed::event(&app, &org, &conn, "ignored", 9_000.0);
    let i = seed::interview(&app, &org, &conn, Iv::default());
    seed::job(&app, &conn, &i.id, "pending", 300.0);
    seed::job(&app, &conn, &i.id, "dead", 9_000.0);
    seed::job(&app, &conn, &i.id, "done", 9_000.0);

    let h = health(&app, &org, &member).await;
    let q = &h["queue"];
    assert_eq!(
        (&q["pending"], &q["retrying"], &q["dead"]),
        (&json!(2), &json!(1), &json!(2))
    );
    let age = q["oldest_pending_age_s"].as_i64().unwrap();
    assert!((300..310).contains(&age), "{age}");
    let m = message(&h, "dead_jobs");
    assert!(m.contains("(1 Lever event, 1 follow-up job)"), "{m}");
}

#[actix_web::test]
async fn link_latency_percentiles_cover_the_last_day() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    assert_eq!(
        health(&app, &org, &member).await["latency_ms"],
        json!({"link_p50": null, "link_p95": null})
    );
    // Received 600 s ago, link posted 1, 2, 3 and 4 s later; one older than
    // a day (10 s) is left out.
    for (n, (received, lag)) in [
        (600.0, 1.0),
        (600.0, 2.0),
        (600.0, 3.0),
        (600.0, 4.0),
        (90_000.0, 10.0),
    ]
    .into_iter()
    .enumerate()
    {
        let ev = seed::event(&app, &org, &conn, "done", received);
        let iv = Iv {
            status: "completed",
            opportunity: &format!("opp-{n}"),
            event_id: Some(&ev),
            link_posted_ago_s: Some(received - lag),
            ..Iv::default()
        };
        let i = seed::interview(&app, &org, &conn, iv);
        // Each seed statement has its own now(): pin the lag exactly.
        exec(
            &app,
            &format!(
                "UPDATE interviews i SET link_posted_at = e.received_at + interval '{lag} seconds' \
                 FROM lever_events e WHERE e.id = i.event_id AND i.id = '{}'",
                i.id
            ),
        );
    }
    let h = health(&app, &org, &member).await;
    // percentile_cont over 1000, 2000, 3000, 4000 ms.
    assert_eq!(h["latency_ms"], json!({"link_p50": 2500, "link_p95": 3850}));
}

#[actix_web::test]
async fn rejected_deliveries_of_the_last_hour_are_counted() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    counter(&app, &conn, "rejected", 0, 2);
    counter(&app, &conn, "rejected", 30, 3);
    counter(&app, &conn, "rejected", 120, 5);
    counter(&app, &conn, "lever_error", 120, 1);
    let h = health(&app, &org, &member).await;
    assert_eq!(h["webhook"]["rejected_last_hour"], 5);
    assert_eq!(
        h["status"], "healthy",
        "rejections alone do not degrade (docs/contract/health.md)"
    );
    assert_eq!(codes(&h), ["signature_failures"]);
    let m = message(&h, "signature_failures");
    assert!(
        m.starts_with("5 deliveries") && m.contains("signature token"),
        "{m}"
    );
}

#[actix_web::test]
async fn no_deliveries_yet_after_the_configured_wait() {
    let app =
        spawn_app_without_pipeline_with(|s| s.no_deliveries_after = Duration::from_secs(1)).await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let conn = seed::connection(
        &app,
        &org,
        Conn {
            connected_ago_s: Some(3_600.0),
            ..Conn::default()
        },
    );
    record(&app, &conn, 5.0, None);
    managed_webhook(&app, &conn);
    let h = health(&app, &org, &member).await;
    assert_eq!(codes(&h), ["no_deliveries_yet"]);
    let m = message(&h, "no_deliveries_yet");
    assert!(m.contains("Candidate Stage Change webhook group"), "{m}");
    assert!(
        m.contains("Settings > Integrations and API > Webhooks"),
        "{m}"
    );

    exec(
        &app,
        "UPDATE connection_health SET last_received_at = now()",
    );
    assert_eq!(health(&app, &org, &member).await["problems"], json!([]));
}

#[actix_web::test]
async fn no_deliveries_yet_waits_a_day_by_default() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let conn = seed::connection(&app, &org, Conn::default());
    record(&app, &conn, 5.0, None);
    assert_eq!(health(&app, &org, &member).await["problems"], json!([]));
}

#[actix_web::test]
async fn a_silent_supervisor_is_named_and_not_running() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let conn = seed::connection(&app, &org, Conn::default());
    record(&app, &conn, 300.0, Some(300.0));
    let h = health(&app, &org, &member).await;
    assert_eq!(h["supervisor"]["running"], false);
    assert_eq!(codes(&h), ["supervisor_stale"]);
    assert!(message(&h, "supervisor_stale").contains("host-a:4711"));
}

/// Seeded: a real throttle always counts a Lever error too (which degrades
/// for an hour), so only a seeded row shows the throttle alone passing. The
/// supervisor's own throttle writes are in `driven`.
#[actix_web::test]
async fn a_throttled_account_is_degraded_until_the_throttle_passes() {
    let app = spawn_app_without_pipeline().await;
    let (org, member, _) = healthy_org(&app).await;
    exec(
        &app,
        "UPDATE connection_health SET throttled_until = now() + interval '30 seconds', last_error = 'HTTP 429'",
    );
    let h = health(&app, &org, &member).await;
    assert_eq!(h["status"], "degraded");
    assert!(h["lever_api"]["throttled_until"].is_string());
    assert_eq!(h["lever_api"]["last_error"], "HTTP 429");
    exec(
        &app,
        "UPDATE connection_health SET throttled_until = now() - interval '1 second'",
    );
    let h = health(&app, &org, &member).await;
    assert_eq!(
        (&h["status"], &h["lever_api"]["throttled_until"]),
        (&json!("healthy"), &json!(null))
    );
}

/// A connection made before the lifecycle webhooks (one stage-change
/// webhook): the report lists the others as not present.
#[actix_web::test]
async fn a_connection_with_only_the_stage_change_webhook_shows_the_others_missing() {
    let app = spawn_app_without_pipeline().await;
    let (org, _, member) = seed::org_with_member(&app, "Acme").await;
    let conn = seed::connection(&app, &org, Conn::default());
    record(&app, &conn, 5.0, None);
    // Its one webhook, as connecting registered it then (the event column's
    // default is the stage change).
    app.insert_webhook(&conn, "old-token", false);
    let h = health(&app, &org, &member).await;
    let present: Vec<(String, bool)> = h["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["event"].as_str().unwrap().to_owned(),
                w["present"] == true,
            )
        })
        .collect();
    assert_eq!(
        present,
        [
            ("candidateStageChange".to_owned(), true),
            ("candidateArchiveChange".to_owned(), false),
            ("candidateHired".to_owned(), false),
            ("candidateDeleted".to_owned(), false),
        ],
        "{h}"
    );
}

/// The alert evaluator reads every connection's figures in one statement;
/// the problems it computes from them are the page's, word for word, and
/// each connection's own.
#[actix_web::test]
async fn the_alerts_read_the_same_computed_problems_as_each_page() {
    use arkiter_lever::health::{Policy, SUPERVISOR_STALE_AFTER, problems, query};
    let app = spawn_app_without_pipeline().await;
    let (org, member, conn) = healthy_org(&app).await;
    seed::event(&app, &org, &conn, "dead", 600.0);
    let i = seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            status: "completed",
            posting_id: Some("post-7"),
            title: Some("Designer"),
            rule: "fallback",
            created_ago_s: 900.0,
            ..Iv::default()
        },
    );
    seed::job(&app, &conn, &i.id, "dead", 700.0);
    counter(&app, &conn, "rejected", 5, 3);
    exec(
        &app,
        &format!(
            "UPDATE connection_health SET heartbeat_at = now() - interval '10 minutes' \
             WHERE connection_id = '{conn}'"
        ),
    );
    exec(
        &app,
        &format!(
            "INSERT INTO connection_sweeps (connection_id, last_at, found_last, failing_since, \
             last_error) VALUES ('{conn}', now() - interval '1 hour', 2, \
             now() - interval '20 minutes', 'Lever answered 503')"
        ),
    );
    let (other_org, other_member, other) = healthy_org(&app).await;
    seed::event(&app, &other_org, &other, "dead", 60.0);

    let policy = Policy {
        no_deliveries_after: Duration::from_secs(86_400),
        supervisor_stale_after: SUPERVISOR_STALE_AFTER,
        asked_scopes: String::new(),
        alert_failing_after: Duration::from_secs(3600),
    };
    let now = chrono::Utc::now();
    let figures = query::figures_of_running(&mut app.db()).unwrap();
    assert_eq!(figures.len(), 2);
    for (org, member, conn) in [(&org, &member, &conn), (&other_org, &other_member, &other)] {
        let page = health(&app, org, member).await["problems"].clone();
        let rows = figures
            .iter()
            .find(|f| f.connection_id.to_string() == *conn)
            .unwrap();
        let watched = serde_json::to_value(problems::computed(rows, now, &policy)).unwrap();
        assert_eq!(watched, page, "connection {conn}");
    }
    let page = health(&app, &org, &member).await;
    assert_eq!(
        codes(&page),
        [
            "dead_jobs",
            "unmapped_postings",
            "signature_failures",
            "supervisor_stale",
            "missed_deliveries",
            "sweep_failing"
        ]
    );
}
