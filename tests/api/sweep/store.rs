//! What a sweep records (`sweep::store::record_findings`), over rows seeded
//! as the pipeline and ingest write them: only candidates with neither an
//! interview for their current stage entry nor an open event get a `sweep`
//! event, once, and a handled candidate gets no write at all.

use arkiter_lever::db::models::lever_event::findings::{
    Candidate, Target, finding_token, record_findings,
};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_without_pipeline};
use crate::interviews_read::seed::{self, Conn, Iv, exec};

const STAGE: &str = "stage-live";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn cand(opp: &str, entered_at: i64) -> Candidate {
    Candidate {
        opportunity_id: opp.to_owned(),
        entered_at,
    }
}

fn record(app: &TestApp, org: &str, conn: &str, cands: &[Candidate]) -> Vec<String> {
    let target = Target {
        connection_id: Uuid::parse_str(conn).unwrap(),
        org_id: Uuid::parse_str(org).unwrap(),
        stage_id: STAGE,
    };
    let mut found = record_findings(&mut app.db(), target, cands).unwrap();
    found.sort();
    found
}

/// An event of `opp` into the stage, Lever-triggered at `triggered_at`.
fn event(app: &TestApp, org: &str, conn: &str, opp: &str, status: &str, triggered_at: i64) {
    let id = Uuid::new_v4();
    exec(
        app,
        &format!(
            "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status) VALUES ('{id}', '{conn}', '{org}', \
             'candidateStageChange', '{id}', {triggered_at}, '{opp}', '{STAGE}', '{{}}', '{status}')"
        ),
    );
}

fn events_of(app: &TestApp, opp: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM lever_events WHERE opportunity_id = '{opp}'"
    ))
}

#[actix_web::test]
async fn only_unhandled_entries_are_recorded_once() {
    let app = spawn_app_without_pipeline().await;
    let (org, _) = app.new_org("Sweep store").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let t = now_ms();
    // Handled for their current entry (entered 10 minutes ago):
    let entered = t - 600_000;
    seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "linked",
            status: "link_posted",
            created_ago_s: 900.0,
            ..Iv::default()
        },
    );
    seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "creating",
            status: "creating",
            created_ago_s: 5.0,
            ..Iv::default()
        },
    );
    seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "completed",
            status: "completed",
            created_ago_s: 300.0,
            ..Iv::default()
        },
    );
    seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "cancelled",
            status: "cancelled",
            created_ago_s: 300.0,
            ..Iv::default()
        },
    );
    seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "failed",
            status: "failed",
            created_ago_s: 300.0,
            ..Iv::default()
        },
    );
    event(&app, &org, &conn, "pending", "pending", t - 1_000);
    event(&app, &org, &conn, "retrying", "retrying", t - 1_000);
    event(&app, &org, &conn, "dead", "dead", entered + 500);
    // Not handled for the current entry:
    // completed before it moved out and back in (entered after the interview);
    seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "reentered",
            status: "results_posted",
            created_ago_s: 3_600.0,
            ..Iv::default()
        },
    );
    // a delivery of an earlier entry, finished;
    event(&app, &org, &conn, "old-event", "done", entered - 60_000);
    // a delivery that was ignored (it had left the stage then);
    event(&app, &org, &conn, "ignored", "ignored", entered + 100);
    // nothing at all.
    let before = app.count("SELECT COUNT(*) AS n FROM lever_events");
    let all: Vec<Candidate> = [
        "linked",
        "creating",
        "completed",
        "cancelled",
        "failed",
        "pending",
        "retrying",
        "dead",
        "reentered",
        "old-event",
        "ignored",
        "fresh",
        "fresh",
    ]
    .iter()
    .map(|o| cand(o, entered))
    .collect();
    let found = record(&app, &org, &conn, &all);
    assert_eq!(found, ["fresh", "ignored", "old-event", "reentered"]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM lever_events") - before,
        4
    );
    for handled in ["linked", "completed", "cancelled", "failed"] {
        assert_eq!(events_of(&app, handled), 0, "{handled} untouched");
    }
    assert_eq!(events_of(&app, "pending"), 1);

    // The recorded events: pending, source sweep, the entry as their identity.
    let n = app.count(&format!(
        "SELECT COUNT(*) AS n FROM lever_events WHERE opportunity_id = 'fresh' \
         AND source = 'sweep' AND status = 'pending' AND event = 'candidateStageChange' \
         AND to_stage_id = '{STAGE}' AND triggered_at = {entered} \
         AND token = '{}' AND org_id = '{org}' AND connection_id = '{conn}'",
        finding_token("fresh", entered)
    ));
    assert_eq!(n, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM lever_events WHERE source = 'webhook'"),
        before
    );

    // A second sweep of the same entries records nothing more.
    assert!(record(&app, &org, &conn, &all).is_empty());
    // Even once the first finding is done (its interview ties it to the entry).
    exec(
        &app,
        "UPDATE lever_events SET status = 'done' WHERE opportunity_id = 'fresh'",
    );
    assert!(record(&app, &org, &conn, &[cand("fresh", entered)]).is_empty());
    // A later entry of the same candidate is a new finding.
    assert_eq!(record(&app, &org, &conn, &[cand("fresh", t)]), ["fresh"]);
    assert!(record(&app, &org, &conn, &[]).is_empty());
}

#[actix_web::test]
async fn another_connection_and_another_stage_do_not_count() {
    let app = spawn_app_without_pipeline().await;
    let (org, _) = app.new_org("Mine").await;
    let (other_org, _) = app.new_org("Theirs").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let theirs = seed::connection(&app, &other_org, Conn::default());
    let entered = now_ms() - 60_000;
    seed::interview(
        &app,
        &other_org,
        &theirs,
        Iv {
            opportunity: "shared",
            status: "link_posted",
            ..Iv::default()
        },
    );
    let id = Uuid::new_v4();
    exec(
        &app,
        &format!(
            "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status) VALUES ('{id}', '{conn}', '{org}', \
             'candidateStageChange', '{id}', {}, 'elsewhere', 'stage-other', '{{}}', 'pending')",
            entered + 1
        ),
    );
    let found = record(
        &app,
        &org,
        &conn,
        &[cand("shared", entered), cand("elsewhere", entered)],
    );
    assert_eq!(found, ["elsewhere", "shared"]);
}

#[actix_web::test]
async fn the_interview_of_an_entry_is_found_by_its_time_or_its_event() {
    use arkiter_lever::db::models::lever_event::findings::interview_for_entry;
    let app = spawn_app_without_pipeline().await;
    let (org, _) = app.new_org("Entries").await;
    let conn = seed::connection(&app, &org, Conn::default());
    let c = Uuid::parse_str(&conn).unwrap();
    let t = now_ms();
    let old = seed::interview(
        &app,
        &org,
        &conn,
        Iv {
            opportunity: "o",
            status: "results_posted",
            created_ago_s: 3_600.0,
            ..Iv::default()
        },
    );
    let mut db = app.db();
    // An entry after the old interview: none for it yet.
    assert_eq!(
        interview_for_entry(&mut db, c, STAGE, "o", t - 60_000).unwrap(),
        None
    );
    // An entry before it: that one.
    let id = Uuid::parse_str(&old.id).unwrap();
    assert_eq!(
        interview_for_entry(&mut db, c, STAGE, "o", t - 7_200_000).unwrap(),
        Some(id)
    );
    // Tied to an event triggered after the entry (our clock behind Lever's).
    let ev = Uuid::new_v4();
    exec(
        &app,
        &format!(
            "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status, interview_id) VALUES ('{ev}', '{conn}', \
             '{org}', 'candidateStageChange', '{ev}', {}, 'o', '{STAGE}', '{{}}', 'done', '{id}')",
            t - 30_000
        ),
    );
    assert_eq!(
        interview_for_entry(&mut db, c, STAGE, "o", t - 60_000).unwrap(),
        Some(id)
    );
    assert_eq!(
        interview_for_entry(&mut db, c, STAGE, "other", t - 60_000).unwrap(),
        None
    );
}
