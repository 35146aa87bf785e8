//! What a sweep records in `lever_events`. Archives the sweep's
//! reconciliation listed, for candidates with an open interview, become
//! `pending` `candidateArchiveChange` events ([`record_archive_findings`]).
//! And given the candidates now in the stage with
//! their current stage entry, the ones handled neither by an interview nor
//! by an open event get a `pending` `candidateStageChange` event with
//! `source = 'sweep'`, which the pipeline then works exactly as a delivery.
//!
//! "Handled for this entry" (a candidate already linked, completed,
//! cancelled or failed for its current stage entry is never touched again):
//! - an open interview (`creating`, `link_posted`) of the opportunity: a new
//!   event would only reuse it;
//! - an open event (`pending`, `retrying`) of the opportunity into the stage:
//!   the pipeline will read the opportunity anyway;
//! - a finished event (`done`, `dead`) into the stage whose `triggeredAt` is
//!   at or after the entry (both times are Lever's clock): a delivery of this
//!   entry or a later one, or this sweep's own earlier finding;
//! - an interview created at or after the entry (our clock against Lever's):
//!   kept after retention prunes finished events (interviews are never
//!   pruned).
//!
//! Idempotent: a finding's dedupe identity is the entry itself (token
//! `sweep:<opportunity>:<entered_at>`, `triggered_at = entered_at`), so two
//! sweeps of one entry insert one event, and the unique indexes absorb races.
//! Nothing is written for a handled candidate.
//!
//! The interview side of the rule is [`interview_for_entry`] in
//! [`crate::db::models::interview::steps`], the interviews table's writer.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::domain::status::{EventSource, EventStatus, InterviewStatus};
use crate::lever::wire::events;

/// A candidate found in the stage: the opportunity and when it last entered
/// the stage (epoch ms, Lever's clock: the latest `stageChanges` entry into
/// the stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub opportunity_id: String,
    pub entered_at: i64,
}

/// The connection a sweep records for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub connection_id: Uuid,
    pub org_id: Uuid,
    pub stage_id: &'a str,
}

pub use crate::db::models::interview::steps::interview_for_entry;

/// The token of a sweep finding: one per stage entry.
pub fn finding_token(opportunity_id: &str, entered_at: i64) -> String {
    format!("sweep:{opportunity_id}:{entered_at}")
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Text)]
    opportunity_id: String,
}

/// Records a `pending` sweep event for each candidate not handled for its
/// current entry (see the module doc) and returns their opportunity ids, in
/// one statement. Candidates listed twice count once. The caller wakes the
/// connection's worker (nothing here sends a wake-up).
#[tracing::instrument(level = "debug", skip_all)]
pub fn record_findings(
    conn: &mut PgConnection,
    target: Target<'_>,
    candidates: &[Candidate],
) -> QueryResult<Vec<String>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| seen.insert(c.opportunity_id.as_str()))
        .collect();
    let ids: Vec<Uuid> = unique.iter().map(|_| Uuid::new_v4()).collect();
    let opps: Vec<&str> = unique.iter().map(|c| c.opportunity_id.as_str()).collect();
    let entered: Vec<i64> = unique.iter().map(|c| c.entered_at).collect();
    let found: Vec<Found> = diesel::sql_query(
        "WITH cand AS ( \
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) \
             AS t(id, opportunity_id, entered_at)), \
         fresh AS ( \
           SELECT c.* FROM cand c \
           WHERE NOT EXISTS ( \
               SELECT 1 FROM interviews i \
               WHERE i.connection_id = $4 AND i.opportunity_id = c.opportunity_id \
                 AND (i.status = ANY($8) \
                      OR i.created_at >= to_timestamp(c.entered_at / 1000.0))) \
             AND NOT EXISTS ( \
               SELECT 1 FROM lever_events e \
               WHERE arkiter_move_key(e.connection_id, e.opportunity_id, e.event, \
                                      e.to_stage_id, e.triggered_at) \
                     BETWEEN arkiter_candidate_low($4, c.opportunity_id) \
                         AND arkiter_candidate_high($4, c.opportunity_id) \
                 AND e.connection_id = $4 AND e.event = $6 \
                 AND e.opportunity_id = c.opportunity_id AND e.to_stage_id = $7 \
                 AND (e.status = ANY($9) \
                      OR (e.status = ANY($10) AND e.triggered_at >= c.entered_at)))) \
         INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status, source) \
         SELECT id, $4, $5, $6, 'sweep:' || opportunity_id || ':' || entered_at, entered_at, \
             opportunity_id, $7, \
             jsonb_build_object('source', $12::text, 'event', $6::text, 'data', \
               jsonb_build_object('opportunityId', opportunity_id, 'toStageId', $7::text, \
                                  'enteredAt', entered_at)), \
             $11, $12 \
         FROM fresh \
         ON CONFLICT DO NOTHING \
         RETURNING opportunity_id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&opps)
    .bind::<Array<BigInt>, _>(&entered)
    .bind::<SqlUuid, _>(target.connection_id)
    .bind::<SqlUuid, _>(target.org_id)
    .bind::<Text, _>(events::CANDIDATE_STAGE_CHANGE)
    .bind::<Text, _>(target.stage_id)
    .bind::<Array<Text>, _>(InterviewStatus::OPEN)
    .bind::<Array<Text>, _>(EventStatus::OPEN)
    .bind::<Array<Text>, _>(EventStatus::FINISHED)
    .bind::<Text, _>(EventStatus::Pending)
    .bind::<Text, _>(EventSource::Sweep)
    .load(conn)?;
    // $12 is also the payload's `source`, as the admin API shows it.
    Ok(found.into_iter().map(|f| f.opportunity_id).collect())
}

#[derive(QueryableByName)]
struct WindowStart {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    start: Option<i64>,
}

/// Where the sweep's lists of archives and deletions start (epoch ms): the previous
/// sweep's end less an hour (a sweep's own length and Lever's clock are
/// covered by the overlap), but never before the oldest open interview
/// (earlier archives close nothing). `None`: no interview is open, so
/// there is nothing to reconcile and no call to make.
pub fn lifecycle_window_start(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<i64>> {
    let w: WindowStart = diesel::sql_query(
        "SELECT CASE WHEN o.first IS NULL THEN NULL ELSE \
           (extract(epoch FROM greatest(o.first, s.last_at - interval '1 hour')) * 1000)::bigint \
         END AS start \
         FROM (SELECT min(created_at) AS first FROM interviews \
               WHERE connection_id = $1 AND status = ANY($2) AND completed_at IS NULL) o \
         LEFT JOIN connection_sweeps s ON s.connection_id = $1",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Array<Text>, _>(InterviewStatus::OPEN)
    .get_result(conn)?;
    Ok(w.start)
}

/// What the sweep's reconciliation found changed in Lever for a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleFinding {
    /// Listed by `GET /opportunities?archived=true&archived_at_start=`.
    Archived,
    /// Listed by `GET /opportunities/deleted?deleted_at_start=`.
    Deleted,
}

impl LifecycleFinding {
    /// The Lever event the finding stands for.
    fn event(self) -> &'static str {
        match self {
            Self::Archived => events::CANDIDATE_ARCHIVE_CHANGE,
            Self::Deleted => events::CANDIDATE_DELETED,
        }
    }

    /// The token's prefix (with the opportunity and time, one event per change).
    fn token_prefix(self) -> &'static str {
        match self {
            Self::Archived => "sweep-archive:",
            Self::Deleted => "sweep-deleted:",
        }
    }

    /// The payload's name for the time of the change.
    fn time_field(self) -> &'static str {
        match self {
            Self::Archived => "archivedAt",
            Self::Deleted => "deletedAt",
        }
    }
}

/// Records a `pending` event of `kind` with `source = 'sweep'` for each
/// opportunity (id, time of the change) that has an open interview without
/// a result, and returns their ids. The close (or erase) unit then reads
/// Lever and acts as for a delivery. One event per change: its token is
/// the kind's prefix, the opportunity and the time.
#[tracing::instrument(level = "debug", skip_all)]
pub fn record_lifecycle_findings(
    conn: &mut PgConnection,
    connection_id: Uuid,
    org_id: Uuid,
    kind: LifecycleFinding,
    changed: &[(String, i64)],
) -> QueryResult<Vec<String>> {
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = changed.iter().map(|_| Uuid::new_v4()).collect();
    let opps: Vec<&str> = changed.iter().map(|(o, _)| o.as_str()).collect();
    let at: Vec<i64> = changed.iter().map(|(_, t)| *t).collect();
    let found: Vec<Found> = diesel::sql_query(
        "WITH cand AS ( \
           SELECT DISTINCT ON (opportunity_id) * \
           FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS t(id, opportunity_id, changed_at)), \
         open AS ( \
           SELECT c.* FROM cand c WHERE EXISTS ( \
               SELECT 1 FROM interviews i \
               WHERE i.connection_id = $4 AND i.opportunity_id = c.opportunity_id \
                 AND i.status = ANY($6) AND i.completed_at IS NULL)) \
         INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, payload, status, source) \
         SELECT id, $4, $5, $7, $10 || opportunity_id || ':' || changed_at, \
             changed_at, opportunity_id, \
             jsonb_build_object('source', $9::text, 'event', $7::text, 'data', \
               jsonb_build_object('opportunityId', opportunity_id, $11::text, changed_at)), \
             $8, $9 \
         FROM open \
         ON CONFLICT DO NOTHING \
         RETURNING opportunity_id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Text>, _>(&opps)
    .bind::<Array<BigInt>, _>(&at)
    .bind::<SqlUuid, _>(connection_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Array<Text>, _>(InterviewStatus::OPEN)
    .bind::<Text, _>(kind.event())
    .bind::<Text, _>(EventStatus::Pending)
    .bind::<Text, _>(EventSource::Sweep)
    .bind::<Text, _>(kind.token_prefix())
    .bind::<Text, _>(kind.time_field())
    .load(conn)?;
    Ok(found.into_iter().map(|f| f.opportunity_id).collect())
}

/// Records the sweep's findings of erased candidates (`Candidate`s whose
/// `opportunity_id` is already the erased key) as `ignored` (`erased`)
/// events without payload, once per stage entry (the token names the key
/// and the entry, never the id).
pub fn record_erased_findings(
    conn: &mut PgConnection,
    target: Target<'_>,
    erased: &[Candidate],
) -> QueryResult<usize> {
    use crate::db::schema::lever_events as e;
    if erased.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = erased
        .iter()
        .map(|c| {
            (
                e::id.eq(Uuid::now_v7()),
                e::connection_id.eq(target.connection_id),
                e::org_id.eq(target.org_id),
                e::event.eq(events::CANDIDATE_STAGE_CHANGE),
                e::token.eq(finding_token(&c.opportunity_id, c.entered_at)),
                e::triggered_at.eq(c.entered_at),
                e::opportunity_id.eq(c.opportunity_id.as_str()),
                e::to_stage_id.eq(target.stage_id),
                e::payload.eq("{}"),
                e::status.eq(EventStatus::Ignored),
                e::reason.eq(crate::domain::status::reasons::ERASED),
                e::source.eq(EventSource::Sweep),
            )
        })
        .collect();
    diesel::insert_into(e::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
}

/// Marks the open interviews of the candidates listed in the stage as seen
/// there at `at` (the sweep's one start time), and records a `pending`
/// exit finding for each open interview seen at the previous sweep but not
/// listed now: it left the stage since, and Lever did not say (or said
/// while the policy kept). A finding is a `candidateStageChange` from the
/// stage without a to-stage; its token names the candidate and the day, so
/// each is found at most once a day. `record_exits` false (the policy
/// keeps): only the marks. Returns the opportunity ids recorded.
#[tracing::instrument(level = "debug", skip_all)]
pub fn reconcile_exits(
    conn: &mut PgConnection,
    target: Target<'_>,
    in_stage: &[String],
    at: chrono::DateTime<chrono::Utc>,
    record_exits: bool,
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Prev {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    }
    // All marks of one sweep share its start: the latest earlier one is
    // the previous sweep's.
    let prev: Prev = diesel::sql_query(
        "SELECT max(in_stage_seen_at) AS at FROM interview_links \
         WHERE connection_id = $1 AND in_stage_seen_at IS NOT NULL AND in_stage_seen_at < $2",
    )
    .bind::<SqlUuid, _>(target.connection_id)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .get_result(conn)?;
    diesel::sql_query(
        "INSERT INTO interview_links (interview_id, connection_id, in_stage_seen_at) \
         SELECT i.id, i.connection_id, $3 FROM interviews i \
         WHERE i.connection_id = $1 AND i.opportunity_id = ANY($2) \
           AND i.status = ANY($4) AND i.completed_at IS NULL \
         ON CONFLICT (interview_id) DO UPDATE SET in_stage_seen_at = excluded.in_stage_seen_at",
    )
    .bind::<SqlUuid, _>(target.connection_id)
    .bind::<Array<Text>, _>(in_stage)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<Array<Text>, _>(InterviewStatus::OPEN)
    .execute(conn)?;
    let (Some(prev), true) = (prev.at, record_exits) else {
        return Ok(Vec::new());
    };
    let found: Vec<Found> = diesel::sql_query(
        "INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, from_stage_id, payload, status, source) \
         SELECT gen_random_uuid(), $1, $2, $5, \
             'sweep-exit:' || i.opportunity_id || ':' || to_char($3 AT TIME ZONE 'UTC', 'YYYYMMDD'), \
             (extract(epoch FROM $3) * 1000)::bigint, i.opportunity_id, $6, \
             jsonb_build_object('source', $8::text, 'event', $5::text, 'data', \
               jsonb_build_object('opportunityId', i.opportunity_id, 'fromStageId', $6::text)), \
             $7, $8 \
         FROM interview_links l JOIN interviews i ON i.id = l.interview_id \
         WHERE l.connection_id = $1 AND l.in_stage_seen_at = $4 \
           AND i.status = ANY($9) AND i.completed_at IS NULL \
         ON CONFLICT DO NOTHING \
         RETURNING opportunity_id",
    )
    .bind::<SqlUuid, _>(target.connection_id)
    .bind::<SqlUuid, _>(target.org_id)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<diesel::sql_types::Timestamptz, _>(prev)
    .bind::<Text, _>(events::CANDIDATE_STAGE_CHANGE)
    .bind::<Text, _>(target.stage_id)
    .bind::<Text, _>(EventStatus::Pending)
    .bind::<Text, _>(EventSource::Sweep)
    .bind::<Array<Text>, _>(InterviewStatus::OPEN)
    .load(conn)?;
    Ok(found.into_iter().map(|f| f.opportunity_id).collect())
}
