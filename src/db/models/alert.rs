//! The alert tables (docs/contract/alerts.md): destinations (an org's, or
//! the operator's with no org), the outbox of notifications to send, each
//! send attempt, and the evaluator's state (per connection and problem
//! code; each connection's last status; the operator's summaries).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz};
use uuid::Uuid;

use crate::db::schema::{
    alert_connection_status, alert_deliveries, alert_destinations, alert_outbox, alert_problems,
    alert_summaries,
};

/// A destination as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_destinations, check_for_backend(diesel::pg::Pg))]
pub struct Destination {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub kind: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret_enc: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub last_status: Option<i16>,
    pub failing_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = alert_destinations)]
pub struct NewDestination<'a> {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub kind: &'a str,
    pub url: &'a str,
    pub events: &'a [String],
    pub secret_enc: Option<&'a [u8]>,
}

pub fn insert_destination(
    c: &mut PgConnection,
    d: &NewDestination<'_>,
) -> QueryResult<Destination> {
    diesel::insert_into(alert_destinations::table)
        .values(d)
        .returning(Destination::as_returning())
        .get_result(c)
}

/// The destinations of `org` (`None`: the operator's), oldest first.
pub fn destinations(c: &mut PgConnection, org: Option<Uuid>) -> QueryResult<Vec<Destination>> {
    let q = alert_destinations::table
        .select(Destination::as_select())
        .order((alert_destinations::created_at, alert_destinations::id))
        .into_boxed();
    match org {
        Some(o) => q.filter(alert_destinations::org_id.eq(o)).load(c),
        None => q.filter(alert_destinations::org_id.is_null()).load(c),
    }
}

/// One destination of `org` (`None`: the operator's).
pub fn destination(c: &mut PgConnection, org: Option<Uuid>, id: Uuid) -> QueryResult<Destination> {
    destinations_of(org)
        .filter(alert_destinations::id.eq(id))
        .select(Destination::as_select())
        .first(c)
}

fn destinations_of(org: Option<Uuid>) -> alert_destinations::BoxedQuery<'static, diesel::pg::Pg> {
    let q = alert_destinations::table.into_boxed();
    match org {
        Some(o) => q.filter(alert_destinations::org_id.eq(o)),
        None => q.filter(alert_destinations::org_id.is_null()),
    }
}

/// Deletes a destination of `org`; 0 when it is not one.
pub fn delete_destination(c: &mut PgConnection, org: Option<Uuid>, id: Uuid) -> QueryResult<usize> {
    let ids: Vec<Uuid> = destinations_of(org)
        .filter(alert_destinations::id.eq(id))
        .select(alert_destinations::id)
        .load(c)?;
    diesel::delete(alert_destinations::table.filter(alert_destinations::id.eq_any(ids))).execute(c)
}

/// One notification to queue for every destination of `org` (`None`: the
/// operator's) that takes `kind` of notification.
pub struct Notice {
    pub org: Option<Uuid>,
    pub kind: &'static str,
    pub body: serde_json::Value,
}

/// Queues `notices`; returns how many outbox rows were written.
pub fn enqueue(
    c: &mut PgConnection,
    notices: &[Notice],
    give_up_at: DateTime<Utc>,
) -> QueryResult<usize> {
    let mut n = 0;
    for notice in notices {
        let targets: Vec<Uuid> = destinations_of(notice.org)
            .filter(alert_destinations::events.contains(vec![notice.kind.to_owned()]))
            .select(alert_destinations::id)
            .load(c)?;
        n += enqueue_to(c, &targets, notice.kind, &notice.body, give_up_at)?;
    }
    Ok(n)
}

/// Queues one notification for `destinations`; returns the rows written.
pub fn enqueue_to(
    c: &mut PgConnection,
    destinations: &[Uuid],
    kind: &str,
    body: &serde_json::Value,
    give_up_at: DateTime<Utc>,
) -> QueryResult<usize> {
    let rows: Vec<_> = destinations
        .iter()
        .map(|d| {
            (
                alert_outbox::id.eq(Uuid::now_v7()),
                alert_outbox::destination_id.eq(*d),
                alert_outbox::type_.eq(kind),
                alert_outbox::body.eq(body),
                alert_outbox::give_up_at.eq(give_up_at),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(alert_outbox::table)
        .values(rows)
        .execute(c)
}

/// How many notifications wait to be sent (or retried).
pub fn pending_count(c: &mut PgConnection) -> QueryResult<i64> {
    alert_outbox::table
        .filter(alert_outbox::status.eq("pending"))
        .count()
        .get_result(c)
}

/// The id of the notification last queued for a destination.
pub fn last_queued(c: &mut PgConnection, destination: Uuid) -> QueryResult<Uuid> {
    alert_outbox::table
        .filter(alert_outbox::destination_id.eq(destination))
        .order(alert_outbox::id.desc())
        .select(alert_outbox::id)
        .first(c)
}

/// A notification claimed for sending, with where it goes.
#[derive(Debug, Clone, QueryableByName)]
pub struct DueSend {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub destination_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Jsonb)]
    pub body: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub give_up_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub destination_kind: String,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub secret_enc: Option<Vec<u8>>,
}

/// Claims up to `limit` due notifications for `hold` (pushed that far
/// into the future, so no other sender takes them meanwhile).
pub fn claim_due(c: &mut PgConnection, limit: i64, hold_secs: f64) -> QueryResult<Vec<DueSend>> {
    diesel::sql_query(
        "UPDATE alert_outbox o SET next_attempt_at = now() + make_interval(secs => $2) \
         FROM alert_destinations d \
         WHERE d.id = o.destination_id AND o.id IN ( \
           SELECT id FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= now() \
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING o.id, o.destination_id, o.type AS kind, o.body, o.attempts, o.give_up_at, \
           d.kind AS destination_kind, d.url, d.secret_enc",
    )
    .bind::<BigInt, _>(limit)
    .bind::<diesel::sql_types::Double, _>(hold_secs)
    .load(c)
}

/// How one send ended.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub status: Option<i16>,
    pub error: Option<String>,
    pub ok: bool,
}

/// Records a send: the attempt, the outbox row (sent, retried at
/// `retry_at`, or failed for good when that is past its `give_up_at`), and
/// the destination's last status and failing-since.
pub fn record_send(
    c: &mut PgConnection,
    due: &DueSend,
    result: &SendResult,
    retry_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(alert_deliveries::table)
        .values((
            alert_deliveries::destination_id.eq(due.destination_id),
            alert_deliveries::outbox_id.eq(due.id),
            alert_deliveries::type_.eq(&due.kind),
            alert_deliveries::status.eq(result.status),
            alert_deliveries::error.eq(&result.error),
        ))
        .execute(c)?;
    let row = alert_outbox::table.find(due.id);
    if result.ok {
        diesel::update(row)
            .set((
                alert_outbox::status.eq("sent"),
                alert_outbox::attempts.eq(due.attempts + 1),
                alert_outbox::sent_at.eq(diesel::dsl::now),
            ))
            .execute(c)?;
    } else {
        let status = if retry_at >= due.give_up_at {
            "failed"
        } else {
            "pending"
        };
        diesel::update(row)
            .set((
                alert_outbox::status.eq(status),
                alert_outbox::attempts.eq(due.attempts + 1),
                alert_outbox::next_attempt_at.eq(retry_at),
            ))
            .execute(c)?;
    }
    diesel::sql_query(
        "UPDATE alert_destinations SET last_status = $2, \
           failing_since = CASE WHEN $3 THEN NULL ELSE coalesce(failing_since, now()) END \
         WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(due.destination_id)
    .bind::<Nullable<diesel::sql_types::SmallInt>, _>(result.status)
    .bind::<Bool, _>(result.ok)
    .execute(c)?;
    Ok(())
}

/// One send attempt as listed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct Delivery {
    pub outbox_id: Uuid,
    pub type_: String,
    pub at: DateTime<Utc>,
    pub status: Option<i16>,
    pub error: Option<String>,
}

/// The newest `limit` attempts to send to a destination, newest first.
pub fn deliveries(
    c: &mut PgConnection,
    destination: Uuid,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    alert_deliveries::table
        .filter(alert_deliveries::destination_id.eq(destination))
        .order((alert_deliveries::at.desc(), alert_deliveries::id.desc()))
        .limit(limit)
        .select(Delivery::as_select())
        .load(c)
}

/// Retention: attempts and finished notifications older than `cutoff`.
pub fn prune(c: &mut PgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    let attempts = diesel::sql_query(
        "DELETE FROM alert_deliveries WHERE id IN \
         (SELECT id FROM alert_deliveries WHERE at < $1 ORDER BY at LIMIT $2)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(c)?;
    let sent = diesel::sql_query(
        "DELETE FROM alert_outbox WHERE id IN (SELECT id FROM alert_outbox \
         WHERE status <> 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(c)?;
    Ok(attempts + sent)
}

/// One connection's problem as it stands now, from what setup and the
/// pipeline stored on it (`code` NULL: none), with its status.
#[derive(Debug, Clone, QueryableByName)]
pub struct Standing {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub connection_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub org_id: Uuid,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub message: Option<String>,
}

/// Every connection and its stored problems, in one query.
pub fn standing(c: &mut PgConnection) -> QueryResult<Vec<Standing>> {
    diesel::sql_query(
        "SELECT k.id AS connection_id, k.org_id, k.status, p->>'code' AS code, \
           p->>'message' AS message \
         FROM connections k \
         LEFT JOIN LATERAL jsonb_array_elements( \
           CASE WHEN k.status <> 'disconnected' AND jsonb_typeof(k.problems) = 'array' \
                THEN k.problems ELSE '[]'::jsonb END) p ON p ? 'code'",
    )
    .load(c)
}

/// The evaluator's memory of one (connection, code).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_problems, check_for_backend(diesel::pg::Pg))]
pub struct ProblemState {
    pub connection_id: Uuid,
    pub code: String,
    pub message: String,
    pub held_since: Option<DateTime<Utc>>,
    pub clear_since: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
    pub notified: bool,
    pub last_opened_notice_at: Option<DateTime<Utc>>,
}

pub fn problem_states(c: &mut PgConnection) -> QueryResult<Vec<ProblemState>> {
    alert_problems::table
        .select(ProblemState::as_select())
        .load(c)
}

/// Replaces the evaluator's memory with `states`.
pub fn store_problem_states(c: &mut PgConnection, states: &[ProblemState]) -> QueryResult<()> {
    diesel::delete(alert_problems::table).execute(c)?;
    for chunk in states.chunks(1000) {
        diesel::insert_into(alert_problems::table)
            .values(chunk)
            .execute(c)?;
    }
    Ok(())
}

/// Each connection's status at the last evaluation.
pub fn seen_statuses(c: &mut PgConnection) -> QueryResult<Vec<(Uuid, String)>> {
    alert_connection_status::table
        .select((
            alert_connection_status::connection_id,
            alert_connection_status::status,
        ))
        .load(c)
}

/// Remembers `statuses` (connection, status) as seen.
pub fn store_statuses(c: &mut PgConnection, statuses: &[(Uuid, String)]) -> QueryResult<()> {
    for chunk in statuses.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, s)| {
                (
                    alert_connection_status::connection_id.eq(*id),
                    alert_connection_status::status.eq(s),
                )
            })
            .collect();
        diesel::insert_into(alert_connection_status::table)
            .values(rows)
            .on_conflict(alert_connection_status::connection_id)
            .do_update()
            .set(
                alert_connection_status::status
                    .eq(diesel::upsert::excluded(alert_connection_status::status)),
            )
            .execute(c)?;
    }
    Ok(())
}

/// One problem code's summary state: the orgs waiting for the next
/// summary, and when the last one was sent.
pub type SummaryRow = (String, Vec<Uuid>, Option<DateTime<Utc>>);

/// The operator's summary state of each problem code.
pub fn summaries(c: &mut PgConnection) -> QueryResult<Vec<SummaryRow>> {
    alert_summaries::table
        .select((
            alert_summaries::code,
            alert_summaries::pending_orgs,
            alert_summaries::last_sent_at,
        ))
        .load(c)
}

/// Stores a code's summary state.
pub fn store_summary(
    c: &mut PgConnection,
    code: &str,
    pending: &[Uuid],
    last_sent_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::insert_into(alert_summaries::table)
        .values((
            alert_summaries::code.eq(code),
            alert_summaries::pending_orgs.eq(pending),
            alert_summaries::last_sent_at.eq(last_sent_at),
        ))
        .on_conflict(alert_summaries::code)
        .do_update()
        .set((
            alert_summaries::pending_orgs.eq(pending),
            alert_summaries::last_sent_at.eq(last_sent_at),
        ))
        .execute(c)
        .map(drop)
}
