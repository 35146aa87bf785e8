//! What a sweep finds and records: given the candidates now in the stage with
//! their current stage entry, the ones handled neither by an interview nor
//! by an open event get a `pending` `candidateStageChange` event with
//! `source = 'sweep'`, which the pipeline then works exactly as a delivery.
//!
//! "Handled for this entry" (SPEC §4: a candidate already linked, completed,
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

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

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
                 AND (i.status IN ('creating', 'link_posted') \
                      OR i.created_at >= to_timestamp(c.entered_at / 1000.0))) \
             AND NOT EXISTS ( \
               SELECT 1 FROM lever_events e \
               WHERE e.connection_id = $4 AND e.event = $6 \
                 AND e.opportunity_id = c.opportunity_id AND e.to_stage_id = $7 \
                 AND (e.status IN ('pending', 'retrying') \
                      OR (e.status IN ('done', 'dead') AND e.triggered_at >= c.entered_at)))) \
         INSERT INTO lever_events (id, connection_id, org_id, event, token, triggered_at, \
             opportunity_id, to_stage_id, payload, status, source) \
         SELECT id, $4, $5, $6, 'sweep:' || opportunity_id || ':' || entered_at, entered_at, \
             opportunity_id, $7, \
             jsonb_build_object('source', 'sweep', 'event', $6::text, 'data', \
               jsonb_build_object('opportunityId', opportunity_id, 'toStageId', $7::text, \
                                  'enteredAt', entered_at)), \
             'pending', 'sweep' \
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
    .load(conn)?;
    Ok(found.into_iter().map(|f| f.opportunity_id).collect())
}

#[derive(QueryableByName)]
struct InterviewId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The interview already made for this stage entry of the opportunity, if
/// any, by the same rule the sweep uses (created at or after the entry, or
/// tied to an event into `stage` triggered at or after it): the newest.
///
/// For the link step: once a sweep has found a candidate, Lever may still
/// deliver the same move late (its retries span hours). That delivery is a
/// second event of the same entry; if its interview was completed meanwhile,
/// "no open interview" would make a second one. The link step can ask this
/// with the entry time of its fresh read
/// ([`crate::lever::wire::Opportunity::current_entry_at`]) and treat a hit
/// as a replay of that interview.
pub fn interview_for_entry(
    conn: &mut PgConnection,
    connection_id: Uuid,
    stage_id: &str,
    opportunity_id: &str,
    entered_at: i64,
) -> QueryResult<Option<Uuid>> {
    let found: Option<InterviewId> = diesel::sql_query(
        "SELECT i.id FROM interviews i \
         WHERE i.connection_id = $1 AND i.opportunity_id = $3 \
           AND (i.created_at >= to_timestamp($4 / 1000.0) \
                OR EXISTS (SELECT 1 FROM lever_events e \
                           WHERE e.connection_id = $1 AND e.interview_id = i.id \
                             AND e.to_stage_id = $2 AND e.triggered_at >= $4)) \
         ORDER BY i.created_at DESC LIMIT 1",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(stage_id)
    .bind::<Text, _>(opportunity_id)
    .bind::<BigInt, _>(entered_at)
    .get_result(conn)
    .optional()?;
    Ok(found.map(|f| f.id))
}
