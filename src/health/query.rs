//! The SQL behind the health report: one read-only, repeatable-read
//! transaction, so every figure is of the same instant (the database's
//! `now()`, which is also `checked_at`).

use crate::db::models::results_settings::{self, ResultsSettings};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::report::UnmappedPosting;
use super::rows::{ConnectionRows, HealthRows, LinkLatency, QueueCounts, SupervisorRecord};
use super::{COUNTER_LEVER_ERROR, COUNTER_REJECTED};
use crate::db::models::connection::{Connection, webhooks};
use crate::db::models::health_record::counter_last_hour;
use crate::db::models::org::Org;
use crate::db::schema::connection_health;
use crate::domain::status::{EventStatus, Rule};

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

#[derive(QueryableByName)]
struct QueueRow {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = BigInt)]
    retrying: i64,
    #[diesel(sql_type = BigInt)]
    dead_events: i64,
    #[diesel(sql_type = BigInt)]
    dead_jobs: i64,
    #[diesel(sql_type = BigInt)]
    hidden: i64,
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
        dead_events: r.dead_events,
        dead_jobs: r.dead_jobs,
        hidden: r.hidden,
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

/// Postings of the last 30 days resolved by `fallback`/`any`, one per posting
/// with its newest rule, leaving out those an admin has mapped since (by
/// posting id, exact, or by title, trimmed and case-insensitive: docs/contract/roles.md).
fn unmapped(
    c: &mut PgConnection,
    org_id: Uuid,
    connection_id: Uuid,
) -> QueryResult<Vec<UnmappedPosting>> {
    diesel::sql_query(
        "SELECT posting_id, title, rule FROM ( \
           SELECT DISTINCT ON (i.posting_id) i.posting_id, i.posting_title AS title, \
                  i.rule, i.created_at \
           FROM interviews i \
           WHERE i.org_id = $1 AND i.connection_id = $2 AND i.posting_id IS NOT NULL \
             AND i.rule IN ($3, $4) AND i.created_at > now() - interval '30 days' \
           ORDER BY i.posting_id, i.created_at DESC) latest \
         WHERE NOT EXISTS ( \
           SELECT 1 FROM role_ats_jobs r WHERE r.org_id = $1 \
             AND (btrim(r.entry) = btrim(latest.posting_id) \
                  OR r.entry_key = lower(btrim(latest.title)))) \
         ORDER BY latest.created_at DESC \
         LIMIT 50",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(Rule::Fallback)
    .bind::<Text, _>(Rule::Any)
    .load(c)
}
