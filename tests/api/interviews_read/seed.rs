//! Rows written straight into a test app's database, as the pipeline, the
//! supervisor and ingest would write them (they are built elsewhere). Every
//! time is relative to the database's `now()`, as the service's own are.

use diesel::RunQueryDsl;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

/// A SQL literal: `NULL` or a quoted string.
pub fn lit(v: Option<&str>) -> String {
    v.map_or("NULL".into(), |s| format!("'{}'", s.replace('\'', "''")))
}

/// `now() - <secs> seconds` as SQL, or `NULL`.
pub fn ago(secs: Option<f64>) -> String {
    secs.map_or("NULL".into(), |s| format!("now() - interval '{s} seconds'"))
}

pub fn exec(app: &TestApp, sql: &str) {
    diesel::sql_query(sql)
        .execute(&mut app.db())
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// An org (through the API) and a member key of it: `(org, admin_key, member_key)`.
pub async fn org_with_member(app: &TestApp, name: &str) -> (String, String, String) {
    let (org, admin) = app.new_org(name).await;
    let (member, _) = app.new_key(&org, &admin, "member", "reader").await;
    (org, admin, member)
}

/// A `connections` row.
pub struct Conn<'a> {
    pub status: &'a str,
    pub token_state: &'a str,
    pub stage_found: bool,
    pub connected_ago_s: Option<f64>,
    pub problems: Value,
}

impl Default for Conn<'_> {
    fn default() -> Self {
        Self {
            status: "active",
            token_state: "valid",
            stage_found: true,
            connected_ago_s: Some(3_600.0),
            problems: json!([]),
        }
    }
}

/// Inserts the org's connection; returns its id.
pub fn connection(app: &TestApp, org: &str, c: Conn<'_>) -> String {
    let id = Uuid::new_v4().to_string();
    exec(
        app,
        &format!(
            "INSERT INTO connections (id, org_id, status, stage_id, stage_found, token_state, \
             token_expires_at, last_refreshed_at, connected_at, problems) VALUES \
             ('{id}', '{org}', '{}', 'stage-live', {}, '{}', now() + interval '1 hour', \
             now() - interval '10 minutes', {}, {})",
            c.status,
            c.stage_found,
            c.token_state,
            ago(c.connected_ago_s),
            lit(Some(&c.problems.to_string())),
        ),
    );
    id
}

/// An `interviews` row.
pub struct Iv<'a> {
    pub status: &'a str,
    pub opportunity: &'a str,
    pub posting_id: Option<&'a str>,
    pub title: Option<&'a str>,
    pub role_name: Option<&'a str>,
    pub rule: &'a str,
    pub created_ago_s: f64,
    pub link_posted_ago_s: Option<f64>,
    pub result: Option<Value>,
    pub event_id: Option<&'a str>,
}

impl Default for Iv<'_> {
    fn default() -> Self {
        Self {
            status: "link_posted",
            opportunity: "opp-1",
            posting_id: Some("post-1"),
            title: Some("Backend Engineer"),
            role_name: Some("Backend"),
            rule: "title",
            created_ago_s: 60.0,
            link_posted_ago_s: Some(50.0),
            result: None,
            event_id: None,
        }
    }
}

/// A seeded interview's id and tokens.
pub struct Seeded {
    pub id: String,
    pub live_token: String,
    pub results_token: String,
}

pub fn interview(app: &TestApp, org: &str, conn: &str, i: Iv<'_>) -> Seeded {
    let s = Seeded {
        id: Uuid::new_v4().to_string(),
        live_token: format!("lv{}", Uuid::new_v4().simple()),
        results_token: format!("rs{}", Uuid::new_v4().simple()),
    };
    let completed = matches!(i.status, "completed" | "results_posted");
    exec(
        app,
        &format!(
            "INSERT INTO interviews (id, org_id, connection_id, event_id, opportunity_id, \
             posting_id, posting_title, role_name, rule, status, live_token, results_token, \
             link_posted_at, completed_at, result, created_at) VALUES ('{}', '{org}', '{conn}', \
             {}, {}, {}, {}, {}, '{}', '{}', '{}', '{}', {}, {}, {}, {})",
            s.id,
            lit(i.event_id),
            lit(Some(i.opportunity)),
            lit(i.posting_id),
            lit(i.title),
            lit(i.role_name),
            i.rule,
            i.status,
            s.live_token,
            s.results_token,
            ago(i.link_posted_ago_s),
            ago(completed.then_some(10.0)),
            lit(i.result.map(|r| r.to_string()).as_deref()),
            ago(Some(i.created_ago_s)),
        ),
    );
    s
}

/// A `lever_events` row of `status`, received `received_ago_s` ago; returns its id.
pub fn event(app: &TestApp, org: &str, conn: &str, status: &str, received_ago_s: f64) -> String {
    let id = Uuid::new_v4().to_string();
    exec(
        app,
        &format!(
            "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             payload, status, received_at) VALUES ('{id}', '{conn}', '{org}', \
             'candidateStageChange', '{id}', 0, '{{}}', '{status}', {})",
            ago(Some(received_ago_s))
        ),
    );
    id
}

/// A `jobs` row of `status` on `interview`, created `created_ago_s` ago.
pub fn job(app: &TestApp, conn: &str, interview: &str, status: &str, created_ago_s: f64) {
    exec(
        app,
        &format!(
            "INSERT INTO jobs (id, connection_id, interview_id, kind, status, created_at) \
             VALUES ('{}', '{conn}', '{interview}', 'complete', '{status}', {})",
            Uuid::new_v4(),
            ago(Some(created_ago_s))
        ),
    );
}
