//! The SQL behind the health report: one read-only, repeatable-read
//! transaction, so every figure is of the same instant (the database's
//! `now()`, which is also `checked_at`).

use crate::db::models::results_settings::{self, ResultsSettings};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    BigInt, Bool, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use uuid::Uuid;

use super::report::UnmappedPosting;
use super::rows::{ConnectionRows, HealthRows, LinkLatency, QueueCounts, SupervisorRecord};
use super::{COUNTER_LEVER_ERROR, COUNTER_REJECTED};
use crate::db::models::connection::{Connection, webhooks};
use crate::db::models::health_record::counter_last_hour;
use crate::db::models::org::Org;
use crate::db::models::sweep::SweepRecord;
use crate::db::schema::connection_health;
use crate::domain::status::{ConnectionStatus, EventStatus, Rule, TokenState};

/// Everything the report needs for `org_id`; `None` when the org does not exist.
pub fn load(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<Option<HealthRows>> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|c| {
            if Org::find(c, org_id).optional()?.is_none() {
                return Ok(None);
            }
            let now = db_now(c)?;
            let connection = match Connection::find_by_org(c, org_id)? {
                Some(k) => Some(connection_rows(c, k)?),
                None => None,
            };
            let alerts = crate::db::models::alert::destinations(c, Some(org_id))?;
            Ok(Some(HealthRows {
                now,
                connection,
                alerts,
            }))
        })
}

fn connection_rows(c: &mut PgConnection, k: Connection) -> QueryResult<ConnectionRows> {
    let live = webhooks::live(c, k.id)?;
    let managed_webhook = live.iter().any(|w| w.managed);
    let webhook_events = live.iter().map(|w| (w.event.clone(), w.managed)).collect();
    let results = ResultsSettings::load(c, k.id)?;
    let mut needed_scopes = k.settings().scopes_needed();
    needed_scopes.extend(results.scopes_needed());
    let perform_as_missing = (results.feedback || results.pdf) && k.perform_as.is_none();
    Ok(ConnectionRows {
        record: record(c, k.id)?,
        rejected_last_hour: counter_last_hour(c, k.id, COUNTER_REJECTED)?,
        lever_errors_last_hour: counter_last_hour(c, k.id, COUNTER_LEVER_ERROR)?,
        queue: queue(c, k.id)?,
        latency: latency(c, k.org_id, k.id)?,
        unmapped: unmapped(c, k.org_id, k.id)?,
        sweep: crate::db::models::sweep::load(c, k.id)?,
        managed_webhook,
        webhook_events,
        lifecycle_received: crate::db::models::lever_event::lifecycle_received(c, k.id)?,
        connection_id: k.id,
        org_id: k.org_id,
        status: k.status,
        connected_at: k.connected_at,
        token_state: k.token_state,
        token_expires_at: k.token_expires_at,
        last_refreshed_at: k.last_refreshed_at,
        stages: k.trigger_stages(),
        stage_id: k.stage_id,
        stage_name: k.stage_name,
        stage_found: k.stage_found,
        granted_scopes: k.scopes,
        needed_scopes,
        perform_as_missing,
        results_refused: results_settings::last_refusal(c, k.id)?,
        overlaps: crate::db::models::role_overlap::of_connection(c, k.id, 6)?,
        stored_problems: k.problems,
    })
}

#[derive(QueryableByName)]
struct Now {
    #[diesel(sql_type = Timestamptz)]
    now: DateTime<Utc>,
}

fn db_now(c: &mut PgConnection) -> QueryResult<DateTime<Utc>> {
    Ok(diesel::sql_query("SELECT now() AS now")
        .get_result::<Now>(c)?
        .now)
}

/// The `connection_health` columns shown; defaults until the supervisor writes a row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = connection_health, check_for_backend(diesel::pg::Pg))]
struct HealthRecordRow {
    supervisor_running: bool,
    instance: Option<String>,
    heartbeat_at: Option<DateTime<Utc>>,
    restarts: i32,
    last_received_at: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    throttled_until: Option<DateTime<Utc>>,
}

fn record(c: &mut PgConnection, connection_id: Uuid) -> QueryResult<SupervisorRecord> {
    let row = connection_health::table
        .find(connection_id)
        .select(HealthRecordRow::as_select())
        .first(c)
        .optional()?;
    Ok(
        row.map_or_else(SupervisorRecord::default, |r| SupervisorRecord {
            running: r.supervisor_running,
            instance: r.instance,
            heartbeat_at: r.heartbeat_at,
            restarts: r.restarts,
            last_received_at: r.last_received_at,
            last_success_at: r.last_success_at,
            last_error: r.last_error,
            throttled_until: r.throttled_until,
        }),
    )
}

/// Dead events and jobs, and the dead events Lever would not show: read by
/// the report's queue and by the alert evaluator's figures alike.
#[derive(QueryableByName)]
struct DeadCounts {
    #[diesel(sql_type = BigInt)]
    dead_events: i64,
    #[diesel(sql_type = BigInt)]
    dead_jobs: i64,
    #[diesel(sql_type = BigInt)]
    hidden: i64,
}

#[derive(QueryableByName)]
struct QueueRow {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = BigInt)]
    retrying: i64,
    #[diesel(embed)]
    dead: DeadCounts,
    #[diesel(sql_type = BigInt)]
    oldest_pending_age_s: i64,
}

/// Events and follow-up jobs together; age from arrival (events) or creation (jobs).
fn queue(c: &mut PgConnection, connection_id: Uuid) -> QueryResult<QueueCounts> {
    // Events and jobs spell `pending`, `retrying` and `dead` alike (both
    // CHECK lists), so one set of values counts the union.
    use EventStatus::{Dead, Pending, Retrying};
    let r: QueueRow = diesel::sql_query(
        "WITH work AS ( \
           SELECT status, received_at AS since, true AS is_event, reason FROM lever_events \
            WHERE connection_id = $1 AND status IN ($2, $3, $4) \
           UNION ALL \
           SELECT status, created_at, false, NULL FROM jobs \
            WHERE connection_id = $1 AND status IN ($2, $3, $4)) \
         SELECT COUNT(*) FILTER (WHERE status = $2) AS pending, \
                COUNT(*) FILTER (WHERE status = $3) AS retrying, \
                COUNT(*) FILTER (WHERE status = $4 AND is_event) AS dead_events, \
                COUNT(*) FILTER (WHERE status = $4 AND NOT is_event) AS dead_jobs, \
                COUNT(*) FILTER (WHERE status = $4 AND reason = $5) AS hidden, \
                COALESCE(GREATEST(0, FLOOR(EXTRACT(EPOCH FROM \
                  now() - MIN(since) FILTER (WHERE status <> $4)))), 0)::BIGINT \
                  AS oldest_pending_age_s \
         FROM work",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(Pending)
    .bind::<Text, _>(Retrying)
    .bind::<Text, _>(Dead)
    .bind::<Text, _>(crate::domain::status::reasons::CONFIDENTIAL)
    .get_result(c)?;
    Ok(QueueCounts {
        pending: r.pending,
        retrying: r.retrying,
        dead_events: r.dead.dead_events,
        dead_jobs: r.dead.dead_jobs,
        hidden: r.dead.hidden,
        oldest_pending_age_s: r.oldest_pending_age_s,
    })
}

#[derive(QueryableByName)]
struct LatencyRow {
    #[diesel(sql_type = Nullable<Double>)]
    p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p95: Option<f64>,
}

/// Delivery arrival → link posted, over links posted in the last 24 hours.
/// The org filter lets the `(org_id, created_at)` index narrow the scan.
fn latency(c: &mut PgConnection, org_id: Uuid, connection_id: Uuid) -> QueryResult<LinkLatency> {
    let r: LatencyRow = diesel::sql_query(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, \
                percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95 \
         FROM (SELECT GREATEST(0, EXTRACT(EPOCH FROM i.link_posted_at - e.received_at) * 1000) \
                      ::float8 AS ms \
               FROM interviews i \
               CROSS JOIN LATERAL (SELECT received_at FROM lever_events \
                                   WHERE id = i.event_id OFFSET 0) e \
               WHERE i.org_id = $1 AND i.connection_id = $2 \
                 AND i.link_posted_at > now() - interval '24 hours') s",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(connection_id)
    .get_result(c)?;
    Ok(LinkLatency {
        p50: r.p50,
        p95: r.p95,
    })
}

/// How many unmapped postings the report lists (per connection).
const UNMAPPED_LISTED: usize = 50;

/// The postings of the last 30 days resolved by `fallback`/`any` (one row
/// per connection and posting, with its newest interview's rule), leaving
/// out those an admin has mapped since (by posting id, exact, or by title,
/// trimmed and case-insensitive: docs/contract/roles.md). `scope` narrows
/// the interviews `i`; `$fallback`/`$any` name the rules' placeholders.
fn unmapped_sql(scope: &str, fallback: &str, any: &str) -> String {
    format!(
        "SELECT * FROM ( \
           SELECT DISTINCT ON (i.connection_id, i.posting_id) i.connection_id, i.org_id, \
                  i.posting_id, i.posting_title AS title, i.rule, i.created_at \
           FROM interviews i \
           WHERE {scope} AND i.posting_id IS NOT NULL \
             AND i.rule IN ({fallback}, {any}) AND i.created_at > now() - interval '30 days' \
           ORDER BY i.connection_id, i.posting_id, i.created_at DESC) latest \
         WHERE NOT EXISTS ( \
           SELECT 1 FROM role_ats_jobs r WHERE r.org_id = latest.org_id \
             AND (btrim(r.entry) = btrim(latest.posting_id) \
                  OR r.entry_key = lower(btrim(latest.title))))"
    )
}

/// The connection's unmapped postings, newest first.
fn unmapped(
    c: &mut PgConnection,
    org_id: Uuid,
    connection_id: Uuid,
) -> QueryResult<Vec<UnmappedPosting>> {
    let latest = unmapped_sql("i.org_id = $1 AND i.connection_id = $2", "$3", "$4");
    diesel::sql_query(format!(
        "SELECT posting_id, title, rule FROM ({latest}) u \
         ORDER BY created_at DESC LIMIT {UNMAPPED_LISTED}"
    ))
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(Rule::Fallback)
    .bind::<Text, _>(Rule::Any)
    .load(c)
}

/// One running connection's figures, as [`figures_of_running`] reads them.
#[derive(QueryableByName)]
struct FiguresRow {
    #[diesel(sql_type = SqlUuid)]
    connection_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = Text)]
    status: ConnectionStatus,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    connected_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    instance: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    heartbeat_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_received_at: Option<DateTime<Utc>>,
    #[diesel(embed)]
    dead: DeadCounts,
    #[diesel(sql_type = BigInt)]
    rejected: i64,
    #[diesel(sql_type = Bool)]
    perform_as_missing: bool,
    #[diesel(sql_type = Nullable<Jsonb>)]
    results_refused: Option<serde_json::Value>,
    #[diesel(sql_type = Jsonb)]
    unmapped: serde_json::Value,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    sweep_last_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    sweep_found_last: i32,
    #[diesel(sql_type = Nullable<Text>)]
    sweep_last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    webhook_repaired_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    webhook_missing_url: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    sweep_failing_since: Option<DateTime<Utc>>,
}

/// Every running (not disconnected) connection's figures for the problems
/// computed from them ([`super::problems::computed`]), in one statement
/// for all connections: what the alert evaluator watches. Figures no
/// computed alert reads (latency, webhooks, lifecycle, scopes, overlaps)
/// are left neutral, so `scope_missing` and `role_overlap`, which follow
/// from a setting an admin just saved, are not among them.
pub fn figures_of_running(c: &mut PgConnection) -> QueryResult<Vec<ConnectionRows>> {
    use EventStatus::Dead;
    let latest = unmapped_sql("true", "$3", "$4");
    let rows: Vec<FiguresRow> = diesel::sql_query(format!(
        "WITH dead_events AS ( \
           SELECT connection_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE reason = $2) AS hidden \
           FROM lever_events WHERE status = $1 GROUP BY connection_id), \
         dead_jobs AS ( \
           SELECT connection_id, COUNT(*) AS n FROM jobs WHERE status = $1 \
           GROUP BY connection_id), \
         rejected AS ( \
           SELECT connection_id, SUM(count)::BIGINT AS n FROM connection_counters \
           WHERE kind = $5 AND minute > date_trunc('minute', now()) - interval '60 minutes' \
           GROUP BY connection_id), \
         unmapped AS ( \
           SELECT connection_id, jsonb_agg(jsonb_build_object( \
                    'posting_id', posting_id, 'title', title, 'rule', rule) \
                  ORDER BY created_at DESC) AS postings \
           FROM (SELECT u.*, row_number() OVER ( \
                   PARTITION BY connection_id ORDER BY created_at DESC) AS place \
                 FROM ({latest}) u) ranked \
           WHERE place <= {UNMAPPED_LISTED} GROUP BY connection_id) \
         SELECT k.id AS connection_id, k.org_id, k.status, k.connected_at, \
                h.instance, h.heartbeat_at, h.last_received_at, \
                COALESCE(de.n, 0) AS dead_events, COALESCE(dj.n, 0) AS dead_jobs, \
                COALESCE(de.hidden, 0) AS hidden, COALESCE(r.n, 0) AS rejected, \
                (COALESCE(cr.feedback OR cr.pdf, false) AND k.perform_as IS NULL) \
                  AS perform_as_missing, \
                cr.results_refused, COALESCE(u.postings, '[]'::jsonb) AS unmapped, \
                s.last_at AS sweep_last_at, COALESCE(s.found_last, 0) AS sweep_found_last, \
                s.last_error AS sweep_last_error, s.webhook_repaired_at, \
                s.webhook_missing_url, s.failing_since AS sweep_failing_since \
         FROM connections k \
         LEFT JOIN connection_health h ON h.connection_id = k.id \
         LEFT JOIN connection_sweeps s ON s.connection_id = k.id \
         LEFT JOIN connection_results cr ON cr.connection_id = k.id \
         LEFT JOIN dead_events de ON de.connection_id = k.id \
         LEFT JOIN dead_jobs dj ON dj.connection_id = k.id \
         LEFT JOIN rejected r ON r.connection_id = k.id \
         LEFT JOIN unmapped u ON u.connection_id = k.id \
         WHERE k.status <> $6"
    ))
    .bind::<Text, _>(Dead)
    .bind::<Text, _>(crate::domain::status::reasons::CONFIDENTIAL)
    .bind::<Text, _>(Rule::Fallback)
    .bind::<Text, _>(Rule::Any)
    .bind::<Text, _>(COUNTER_REJECTED)
    .bind::<Text, _>(ConnectionStatus::Disconnected)
    .load(c)?;
    Ok(rows.into_iter().map(FiguresRow::into_rows).collect())
}

impl FiguresRow {
    fn into_rows(self) -> ConnectionRows {
        // A posting the query built is always well-formed; one that were
        // not would only shorten the list.
        let unmapped = self
            .unmapped
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| serde_json::from_value(p.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        ConnectionRows {
            connection_id: self.connection_id,
            org_id: self.org_id,
            status: self.status,
            connected_at: self.connected_at,
            record: SupervisorRecord {
                instance: self.instance,
                heartbeat_at: self.heartbeat_at,
                last_received_at: self.last_received_at,
                ..SupervisorRecord::default()
            },
            queue: QueueCounts {
                dead_events: self.dead.dead_events,
                dead_jobs: self.dead.dead_jobs,
                hidden: self.dead.hidden,
                ..QueueCounts::default()
            },
            rejected_last_hour: self.rejected,
            perform_as_missing: self.perform_as_missing,
            results_refused: self.results_refused,
            unmapped,
            sweep: SweepRecord {
                last_at: self.sweep_last_at,
                found_last: self.sweep_found_last,
                last_error: self.sweep_last_error,
                webhook_repaired_at: self.webhook_repaired_at,
                webhook_missing_url: self.webhook_missing_url,
                failing_since: self.sweep_failing_since,
                ..SweepRecord::default()
            },
            // Not read by the computed problems the alerts watch.
            token_state: TokenState::Valid,
            token_expires_at: None,
            last_refreshed_at: None,
            stage_id: None,
            stage_name: String::new(),
            stage_found: true,
            stages: Vec::new(),
            granted_scopes: None,
            needed_scopes: Vec::new(),
            overlaps: Vec::new(),
            stored_problems: serde_json::Value::Array(Vec::new()),
            managed_webhook: false,
            webhook_events: Vec::new(),
            lifecycle_received: Vec::new(),
            lever_errors_last_hour: 0,
            latency: LinkLatency::default(),
        }
    }
}
