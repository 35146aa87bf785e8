//! The `connection_sweeps` row of a connection: when its next sweep is due,
//! an on-demand request waiting, the figures of the last sweep (health §5
//! `sweep`), and what the last webhook check found.
//!
//! Who writes what:
//! - `POST .../lever/sweep` → [`request_sweep`] (then a wake-up);
//! - connecting → [`due_now`] (a sweep right after (re)connect);
//! - the lease cycle → [`on_start`] for the connections it has just taken;
//! - the account supervisor → [`due_at`] to know when to sweep, [`begin`]
//!   and then [`finish`] or
//!   [`failed`] around a sweep;
//! - the sweep itself (`sweep::run`) → [`webhook_repaired`],
//!   [`webhook_missing`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::schema::connection_sweeps;

/// A sweep that began longer ago than this and never finished (its instance
/// died) no longer counts as running: a request queues a new one.
pub const RUNNING_STALE_AFTER_SECS: i64 = 900;

/// The stored row, as the health page and the supervisor read it.
#[derive(Debug, Clone, Default, PartialEq, Queryable, Selectable)]
#[diesel(table_name = connection_sweeps, check_for_backend(diesel::pg::Pg))]
pub struct SweepRecord {
    pub last_at: Option<DateTime<Utc>>,
    pub next_at: Option<DateTime<Utc>>,
    pub found_last: i32,
    pub found_total: i64,
    pub requested_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub webhook_repaired_at: Option<DateTime<Utc>>,
    pub webhook_missing_url: Option<String>,
    /// Since when sweeps have failed (`None`: the last one ran).
    pub failing_since: Option<DateTime<Utc>>,
}

/// The connection's row, or the defaults when it was never swept.
pub fn load(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<SweepRecord> {
    Ok(connection_sweeps::table
        .find(connection_id)
        .select(SweepRecord::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// Queues an on-demand sweep and returns the time the queued (or running)
/// sweep was asked for: a request while one is queued, or while one runs,
/// is not doubled. Sends the cross-instance wake-up at commit (the caller
/// also wakes this process's supervisor: [`wake_for_sweep`]).
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %connection_id))]
pub fn request_sweep(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<DateTime<Utc>> {
    conn.transaction(|c| {
        let row: At = diesel::sql_query(format!(
            "INSERT INTO connection_sweeps (connection_id, requested_at) VALUES ($1, now()) \
             ON CONFLICT (connection_id) DO UPDATE SET \
               requested_at = CASE \
                 WHEN connection_sweeps.requested_at IS NOT NULL \
                   THEN connection_sweeps.requested_at \
                 WHEN connection_sweeps.started_at > now() - interval '{RUNNING_STALE_AFTER_SECS} seconds' \
                   THEN NULL \
                 ELSE now() END, \
               updated_at = now() \
             RETURNING COALESCE(requested_at, started_at) AS at"
        ))
        .bind::<SqlUuid, _>(connection_id)
        .get_result(c)?;
        crate::db::notify::work_due(c, connection_id)?;
        row.at.ok_or(diesel::result::Error::NotFound)
    })
}

/// A sweep is due now (right after the connection was (re)connected).
pub fn due_now(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO connection_sweeps (connection_id, next_at) VALUES ($1, now()) \
         ON CONFLICT (connection_id) DO UPDATE SET next_at = now(), updated_at = now()",
    )
    .bind::<SqlUuid, _>(connection_id)
    .execute(conn)?;
    Ok(())
}

/// The connection's place in the interval: a fixed offset from its id, so
/// that connections coming back together (a restart) spread their sweeps
/// over the interval instead of all firing at once.
pub fn phase(connection_id: Uuid, interval: Duration) -> Duration {
    let secs = interval.as_secs().max(1);
    let id = connection_id.as_u128();
    let mixed = (id as u64) ^ ((id >> 64) as u64);
    Duration::from_secs(mixed % secs)
}

/// A sweep due for less than this is "just made due", not overdue.
const RECENT_SECS: u64 = 60;

/// Called for the connections an instance has just taken, in its lease
/// cycle. Connected but never swept: due now (the connect flow made it due,
/// so a new connection is swept at once), and so is one made due moments
/// ago (a reconnect). Overdue for longer (the service was down), or with no
/// row at all (connected before sweeps existed): due at the connection's
/// [`phase`] within the next interval, so a restart or an upgrade does not
/// sweep every account at once (10,000 accounts sweeping together starved
/// the admin API of database connections). A queued request stays due. One
/// statement for all of them.
pub fn on_start(
    conn: &mut PgConnection,
    connection_ids: &[Uuid],
    interval: Option<Duration>,
) -> QueryResult<()> {
    if connection_ids.is_empty() {
        return Ok(());
    }
    let spreads: Vec<f64> = connection_ids
        .iter()
        .map(|id| interval.map_or(0.0, |i| phase(*id, i).as_secs_f64()))
        .collect();
    diesel::sql_query(format!(
        "INSERT INTO connection_sweeps AS s (connection_id, next_at) \
         SELECT id, now() + make_interval(secs => spread) \
         FROM unnest($1::uuid[], $2::float8[]) AS t(id, spread) \
         ON CONFLICT (connection_id) DO UPDATE SET \
           next_at = CASE WHEN s.last_at IS NULL \
                            OR s.next_at >= now() - interval '{RECENT_SECS} seconds' \
                          THEN s.next_at \
                          ELSE EXCLUDED.next_at END, \
           started_at = NULL, updated_at = now()"
    ))
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(connection_ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Double>, _>(&spreads)
    .execute(conn)?;
    Ok(())
}

/// When a sweep is due, as SQL over a `connection_sweeps` row `s`: a queued
/// request (unless a failed sweep's retry is still ahead), or the periodic
/// (or retry) time.
const DUE_AT: &str = "LEAST(CASE WHEN s.requested_at IS NOT NULL \
                                 THEN GREATEST(s.requested_at, s.retry_at) END, \
                            s.next_at)";

/// When the connection's next sweep is due: now or earlier when one was
/// requested or never ran, the periodic or retry time otherwise, `None`
/// when none is due (periodic sweep off and nothing asked).
pub fn due_at(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<Option<DateTime<Utc>>> {
    let r: Option<At> = diesel::sql_query(format!(
        "SELECT {DUE_AT} AS at FROM connection_sweeps s WHERE s.connection_id = $1"
    ))
    .bind::<SqlUuid, _>(connection_id)
    .get_result(conn)
    .optional()?;
    Ok(match r {
        Some(r) => r.at,
        None => Some(Utc::now()),
    })
}

/// Active connections with a sweep due now (requested, or the periodic
/// time passed, or never swept), for the registry's safety-net poll beside
/// `pipeline::store::connections_with_due_work`.
pub fn connections_with_due_sweeps(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let ids: Vec<Id> = diesel::sql_query(format!(
        "SELECT k.id FROM connections k \
         LEFT JOIN connection_sweeps s ON s.connection_id = k.id \
         WHERE k.status = $1 AND (s.connection_id IS NULL OR {DUE_AT} <= now())"
    ))
    .bind::<diesel::sql_types::Text, _>(crate::domain::status::ConnectionStatus::Active)
    .load(conn)?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// A sweep claimed by [`begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begun {
    pub started_at: DateTime<Utc>,
    /// The on-demand request it took off the queue, put back by [`failed`].
    pub requested_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct BegunRow {
    #[diesel(sql_type = Timestamptz)]
    started_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    requested_at: Option<DateTime<Utc>>,
}

/// Claims a due sweep: marks it running and takes the request off the
/// queue (a request arriving from now on is answered with this sweep's
/// time). `None`: nothing is due.
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %connection_id))]
pub fn begin(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<Option<Begun>> {
    conn.transaction(|c| {
        // A connection never swept has no row yet, and is due.
        diesel::sql_query(
            "INSERT INTO connection_sweeps (connection_id, next_at) VALUES ($1, now()) \
             ON CONFLICT (connection_id) DO NOTHING",
        )
        .bind::<SqlUuid, _>(connection_id)
        .execute(c)?;
        // The request is read (and the row locked) before the update clears
        // it: a locking read of the row in the update's own RETURNING would
        // see the row as already changed by this statement, and skip it.
        diesel::sql_query(format!(
            "UPDATE connection_sweeps s SET \
               started_at = now(), requested_at = NULL, updated_at = now() \
             FROM (SELECT requested_at FROM connection_sweeps \
                   WHERE connection_id = $1 FOR UPDATE) old \
             WHERE s.connection_id = $1 AND {DUE_AT} <= now() \
             RETURNING s.started_at, old.requested_at"
        ))
        .bind::<SqlUuid, _>(connection_id)
        .get_result::<BegunRow>(c)
        .optional()
        .map(|r| {
            r.map(|r| Begun {
                started_at: r.started_at,
                requested_at: r.requested_at,
            })
        })
    })
}

/// Records a sweep that ran: its figures, and the next periodic one
/// (`interval` after now; none when the periodic sweep is off). It ends a
/// run of failures.
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %connection_id))]
pub fn finish(
    conn: &mut PgConnection,
    connection_id: Uuid,
    found: i32,
    interval: Option<Duration>,
) -> QueryResult<()> {
    let next = interval.map(|i| format!("now() + interval '{} seconds'", i.as_secs()));
    diesel::sql_query(format!(
        "INSERT INTO connection_sweeps (connection_id, last_at, next_at, found_last, found_total) \
         VALUES ($1, now(), {n}, $2, $2) \
         ON CONFLICT (connection_id) DO UPDATE SET \
           last_at = now(), next_at = {n}, found_last = $2, \
           found_total = connection_sweeps.found_total + $2, last_error = NULL, \
           failures = 0, failing_since = NULL, retry_at = NULL, \
           started_at = NULL, updated_at = now()",
        n = next.as_deref().unwrap_or("NULL"),
    ))
    .bind::<SqlUuid, _>(connection_id)
    .bind::<diesel::sql_types::Integer, _>(found)
    .execute(conn)?;
    Ok(())
}

/// How a failed sweep backs off: `first` after the first failure, doubling
/// with each further one, never more than `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

/// Records a sweep that could not finish. It is not a sweep that ran:
/// `last_at` and the figures stay; the error and since when are kept for
/// the health page; the sweep is due again after the backoff, and the
/// on-demand request it took (`begun.requested_at`) is queued again.
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %connection_id))]
pub fn failed(
    conn: &mut PgConnection,
    connection_id: Uuid,
    begun: &Begun,
    error: &str,
    backoff: Backoff,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE connection_sweeps SET \
           last_error = $2, failing_since = COALESCE(failing_since, $3), \
           retry_at = now() + make_interval(secs => \
             LEAST($5, $4 * power(2, LEAST(failures, 30)))), \
           next_at = now() + make_interval(secs => \
             LEAST($5, $4 * power(2, LEAST(failures, 30)))), \
           failures = failures + 1, \
           requested_at = COALESCE(requested_at, $6), \
           started_at = NULL, updated_at = now() \
         WHERE connection_id = $1",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(error)
    .bind::<Timestamptz, _>(begun.started_at)
    .bind::<diesel::sql_types::Double, _>(backoff.first.as_secs_f64())
    .bind::<diesel::sql_types::Double, _>(backoff.max.as_secs_f64())
    .bind::<Nullable<Timestamptz>, _>(begun.requested_at)
    .execute(conn)?;
    Ok(())
}

/// Managed mode: the sweep registered our webhook again (health shows
/// `webhook_repaired` for 24 hours).
pub fn webhook_repaired(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO connection_sweeps (connection_id, webhook_repaired_at) VALUES ($1, now()) \
         ON CONFLICT (connection_id) DO UPDATE SET webhook_repaired_at = now(), \
           webhook_missing_url = NULL, updated_at = now()",
    )
    .bind::<SqlUuid, _>(connection_id)
    .execute(conn)?;
    Ok(())
}

/// Manual mode: Lever has no webhook delivering to `url` (`Some`), or it
/// has one again (`None`).
pub fn webhook_missing(
    conn: &mut PgConnection,
    connection_id: Uuid,
    url: Option<&str>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO connection_sweeps (connection_id, webhook_missing_url) VALUES ($1, $2) \
         ON CONFLICT (connection_id) DO UPDATE SET webhook_missing_url = $2, updated_at = now()",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Nullable<Text>, _>(url)
    .execute(conn)?;
    Ok(())
}
