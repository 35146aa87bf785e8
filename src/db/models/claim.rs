//! The `candidate_claims` table: one candidate, one unit of work at a time,
//! on every instance. A unit (a link step, a completion, a cancel, a replay,
//! a sweep finding) runs only while its worker holds the claim row of its
//! (connection, candidate), with the lease's owner and epoch and an `until`.
//!
//! - A claim is taken by the statement that selects due work ([`claim_events`],
//!   [`claim_jobs`]), fenced by the lease: claimed candidates are no longer
//!   due, so an account with busy candidates is not polled again and again.
//! - Every Lever write is covered by the claim: the worker extends it
//!   ([`extend`]) to the database's `now()` plus the longest time a write may
//!   take to land and a few seconds of slack, before the unit's first write
//!   and before any write sent after the slack (`pipeline::context`); if
//!   that fails (the lease or the claim moved on) the write is not sent.
//! - The supervisor renews the claims of its units in flight ([`renew`]),
//!   never shortening one; settling a unit deletes its claim ([`release`]).
//!   A unit whose instance died or stopped keeps its claim until it runs out.
//!
//! A new lease holder can claim a candidate only once its claim has run out,
//! so a write the previous holder may still have in flight lands first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::job::JobWork;
use super::lever_event::work::EventWork;
use crate::db::schema::{interviews, jobs, lever_events};
use crate::domain::status::{EventStatus, JobStatus, in_list};

/// The lease a worker acts under.
#[derive(Debug, Clone, Copy)]
pub struct LeaseRef<'a> {
    pub connection_id: Uuid,
    pub owner: &'a str,
    pub epoch: i64,
}

/// The claim key of a unit: its candidate, or the event itself when it
/// names none (such an event is ignored at once, but still one at a time).
pub fn claim_key(opportunity: Option<&str>, unit: Uuid) -> String {
    match opportunity {
        Some(o) => o.to_owned(),
        None => format!("{NO_CANDIDATE_PREFIX}{unit}"),
    }
}

/// How the claim key of a unit that names no candidate begins (the claim
/// statements spell it out too).
pub const NO_CANDIDATE_PREFIX: &str = "event:";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    unit_id: Uuid,
}

/// `true` while `lease` is held at its epoch: the fence of every statement
/// here. Locks the lease row `FOR KEY SHARE`, as the workers' writes do, so a
/// takeover waits for the statement's transaction.
const LEASE_HELD: &str = "EXISTS (SELECT 1 FROM connection_leases l \
     WHERE l.connection_id = $1 AND l.owner = $2 AND l.epoch = $3 AND l.expires_at > now() \
     FOR KEY SHARE)";

/// Due events of the lease's connection, longest due first, at most one per
/// candidate and at most `limit`, skipping candidates with a live claim:
/// claims them for `hold` and returns them.
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %lease.connection_id))]
pub fn claim_events(
    conn: &mut PgConnection,
    lease: LeaseRef<'_>,
    hold: Duration,
    limit: i64,
) -> QueryResult<Vec<EventWork>> {
    let ids = run_claim(conn, &claim_events_sql(), lease, hold, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    lever_events::table
        .filter(lever_events::id.eq_any(&ids))
        .order(lever_events::next_attempt_at)
        .select(EventWork::as_select())
        .load(conn)
}

/// The statement [`claim_events`] runs, apart so that its plan can be
/// checked: it walks the partial `lever_events_due` index in order and
/// stops after a few times `limit` rows, however many events are open.
/// Binds: connection, owner, epoch, limit, hold (seconds).
pub fn claim_events_sql() -> String {
    format!(
        "WITH due AS ( \
           SELECT e.id, coalesce(e.opportunity_id, 'event:' || e.id::text) AS claim_key, \
                  e.next_attempt_at \
           FROM lever_events e \
           WHERE e.connection_id = $1 AND e.status IN ({open}) AND e.next_attempt_at <= now() \
             AND {LEASE_HELD} \
             AND NOT EXISTS (SELECT 1 FROM candidate_claims k WHERE k.connection_id = $1 \
                 AND k.opportunity_id = coalesce(e.opportunity_id, 'event:' || e.id::text) \
                 AND k.until > now()) \
           ORDER BY e.next_attempt_at LIMIT $4 * 4), \
         one AS (SELECT DISTINCT ON (claim_key) id, claim_key, next_attempt_at FROM due \
                 ORDER BY claim_key, next_attempt_at), \
         picked AS (SELECT id, claim_key FROM one ORDER BY next_attempt_at LIMIT $4) \
         {INSERT_CLAIMS}",
        open = in_list(EventStatus::OPEN, EventStatus::as_str),
    )
}

/// Due jobs of the lease's connection, as [`claim_events`] for events (a
/// job's candidate is its interview's opportunity).
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %lease.connection_id))]
pub fn claim_jobs(
    conn: &mut PgConnection,
    lease: LeaseRef<'_>,
    hold: Duration,
    limit: i64,
) -> QueryResult<Vec<JobWork>> {
    let sql = format!(
        "WITH due AS ( \
           SELECT j.id, i.opportunity_id AS claim_key, j.next_attempt_at \
           FROM jobs j JOIN interviews i ON i.id = j.interview_id \
           WHERE j.connection_id = $1 AND j.status IN ({open}) AND j.next_attempt_at <= now() \
             AND {LEASE_HELD} \
             AND NOT EXISTS (SELECT 1 FROM candidate_claims k WHERE k.connection_id = $1 \
                 AND k.opportunity_id = i.opportunity_id AND k.until > now()) \
           ORDER BY j.next_attempt_at LIMIT $4 * 4), \
         one AS (SELECT DISTINCT ON (claim_key) id, claim_key, next_attempt_at FROM due \
                 ORDER BY claim_key, next_attempt_at), \
         picked AS (SELECT id, claim_key FROM one ORDER BY next_attempt_at LIMIT $4) \
         {INSERT_CLAIMS}",
        open = in_list(JobStatus::OPEN, JobStatus::as_str),
    );
    let ids = run_claim(conn, &sql, lease, hold, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    jobs::table
        .inner_join(interviews::table)
        .filter(jobs::id.eq_any(&ids))
        .order(jobs::next_attempt_at)
        .select(JobWork::as_select())
        .load(conn)
}

/// The end of both claim statements: insert a claim per picked unit, or take
/// over one that ran out (never a live one), and return the units claimed.
const INSERT_CLAIMS: &str = "INSERT INTO candidate_claims AS k \
       (connection_id, opportunity_id, unit_id, owner, epoch, until) \
     SELECT $1, claim_key, id, $2, $3, now() + make_interval(secs => $5) FROM picked \
     ON CONFLICT (connection_id, opportunity_id) DO UPDATE \
       SET unit_id = EXCLUDED.unit_id, owner = EXCLUDED.owner, epoch = EXCLUDED.epoch, \
           until = EXCLUDED.until \
       WHERE k.until <= now() \
     RETURNING k.unit_id";

fn run_claim(
    conn: &mut PgConnection,
    sql: &str,
    lease: LeaseRef<'_>,
    hold: Duration,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<Claimed> = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(lease.connection_id)
        .bind::<Text, _>(lease.owner)
        .bind::<BigInt, _>(lease.epoch)
        .bind::<BigInt, _>(limit)
        .bind::<Double, _>(hold.as_secs_f64())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.unit_id).collect())
}

/// Extends the claim of `unit` on candidate `key` to at least `now() + by`,
/// while the lease is held at its epoch and the claim is still the unit's.
/// `false`: the claim or the lease moved on, and nothing may be written.
#[tracing::instrument(level = "debug", skip_all, fields(connection_id = %lease.connection_id))]
pub fn extend(
    conn: &mut PgConnection,
    lease: LeaseRef<'_>,
    key: &str,
    unit: Uuid,
    by: Duration,
) -> QueryResult<bool> {
    let n = diesel::sql_query(format!(
        "UPDATE candidate_claims k SET until = greatest(k.until, now() + make_interval(secs => $6)) \
         WHERE k.connection_id = $1 AND k.owner = $2 AND k.epoch = $3 \
           AND k.opportunity_id = $4 AND k.unit_id = $5 AND {LEASE_HELD}"
    ))
    .bind::<SqlUuid, _>(lease.connection_id)
    .bind::<Text, _>(lease.owner)
    .bind::<BigInt, _>(lease.epoch)
    .bind::<Text, _>(key)
    .bind::<SqlUuid, _>(unit)
    .bind::<Double, _>(by.as_secs_f64())
    .execute(conn)?;
    Ok(n == 1)
}

/// Renews the claims of a connection's units in flight (by candidate) to at
/// least `now() + hold`, never shortening one, while the lease is held.
pub fn renew(
    conn: &mut PgConnection,
    lease: LeaseRef<'_>,
    keys: &[String],
    hold: Duration,
) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "UPDATE candidate_claims k SET until = greatest(k.until, now() + make_interval(secs => $5)) \
         WHERE k.connection_id = $1 AND k.owner = $2 AND k.epoch = $3 \
           AND k.opportunity_id = ANY($4) AND {LEASE_HELD}"
    ))
    .bind::<SqlUuid, _>(lease.connection_id)
    .bind::<Text, _>(lease.owner)
    .bind::<BigInt, _>(lease.epoch)
    .bind::<diesel::sql_types::Array<Text>, _>(keys)
    .bind::<Double, _>(hold.as_secs_f64())
    .execute(conn)
}

/// Deletes a settled unit's claim (its owner's, at its epoch, only).
pub fn release(
    conn: &mut PgConnection,
    lease: LeaseRef<'_>,
    key: &str,
    unit: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM candidate_claims WHERE connection_id = $1 AND owner = $2 AND epoch = $3 \
           AND opportunity_id = $4 AND unit_id = $5",
    )
    .bind::<SqlUuid, _>(lease.connection_id)
    .bind::<Text, _>(lease.owner)
    .bind::<BigInt, _>(lease.epoch)
    .bind::<Text, _>(key)
    .bind::<SqlUuid, _>(unit)
    .execute(conn)
}

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// When the connection's next unit may be claimed: the earliest attempt of
/// its open events and jobs whose candidate has no live claim. Candidates
/// with one are woken when their claim's unit settles, not polled for.
pub fn next_due_at(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    let at: At = diesel::sql_query(format!(
        "SELECT min(t) AS at FROM ( \
           (SELECT e.next_attempt_at AS t FROM lever_events e \
            WHERE e.connection_id = $1 AND e.status IN ({events}) \
              AND NOT EXISTS (SELECT 1 FROM candidate_claims k WHERE k.connection_id = $1 \
                  AND k.opportunity_id = coalesce(e.opportunity_id, 'event:' || e.id::text) \
                  AND k.until > now()) \
            ORDER BY e.next_attempt_at LIMIT 1) \
           UNION ALL \
           (SELECT j.next_attempt_at FROM jobs j JOIN interviews i ON i.id = j.interview_id \
            WHERE j.connection_id = $1 AND j.status IN ({jobs}) \
              AND NOT EXISTS (SELECT 1 FROM candidate_claims k WHERE k.connection_id = $1 \
                  AND k.opportunity_id = i.opportunity_id AND k.until > now()) \
            ORDER BY j.next_attempt_at LIMIT 1)) n",
        events = in_list(EventStatus::OPEN, EventStatus::as_str),
        jobs = in_list(JobStatus::OPEN, JobStatus::as_str),
    ))
    .bind::<SqlUuid, _>(connection_id)
    .get_result(conn)?;
    Ok(at.at)
}

#[derive(QueryableByName)]
struct ConnectionRow {
    #[diesel(sql_type = SqlUuid)]
    connection_id: Uuid,
}

/// Connections with work due now that no live claim holds back (the
/// registry's safety-net poll wakes their supervisors).
pub fn connections_with_claimable_work(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<ConnectionRow> = diesel::sql_query(format!(
        "SELECT e.connection_id FROM lever_events e \
         WHERE e.status IN ({events}) AND e.next_attempt_at <= now() \
           AND NOT EXISTS (SELECT 1 FROM candidate_claims k \
               WHERE k.connection_id = e.connection_id \
                 AND k.opportunity_id = coalesce(e.opportunity_id, 'event:' || e.id::text) \
                 AND k.until > now()) \
         UNION \
         SELECT j.connection_id FROM jobs j JOIN interviews i ON i.id = j.interview_id \
         WHERE j.status IN ({jobs}) AND j.next_attempt_at <= now() \
           AND NOT EXISTS (SELECT 1 FROM candidate_claims k \
               WHERE k.connection_id = j.connection_id AND k.opportunity_id = i.opportunity_id \
                 AND k.until > now())",
        events = in_list(EventStatus::OPEN, EventStatus::as_str),
        jobs = in_list(JobStatus::OPEN, JobStatus::as_str),
    ))
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.connection_id).collect())
}

/// Retention: deletes up to `limit` claims that ran out before `cutoff`
/// (a unit whose instance died keeps its claim until then).
pub fn prune_stale(c: &mut PgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM candidate_claims WHERE (connection_id, opportunity_id) IN \
         (SELECT connection_id, opportunity_id FROM candidate_claims WHERE until < $1 LIMIT $2)",
        cutoff,
        limit,
    )
}
