//! Erasing one candidate (docs/contract/lifecycle.md), and the only writer
//! of `erased_candidates`. An erase keeps the rows (an interview's id,
//! status and timestamps are the customer's record) and removes what they
//! hold about the person: payloads, results, posting, links, errors that
//! may name the opportunity. What stands for the opportunity id from then
//! on is its keyed hash ([`crate::domain::secrets::SecretBox::erased_key`]),
//! which the caller computes: this layer never sees the key.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::schema::{erased_candidates, interviews, jobs};
use crate::domain::status::{CloseReason, EventStatus, InterviewStatus, JobStatus, reasons};

/// What one erase changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub interviews: usize,
    pub events: usize,
}

/// Erases what is held about `opportunity_id` of a connection, in one
/// transaction, and remembers `key` as erased from now on. Unfinished
/// events of the candidate end `ignored` (`erased`), but `current`, the
/// erase's own, which ends `done`; unfinished jobs of its interviews end
/// `done`: nothing is left to write to Lever for it.
pub fn erase(
    conn: &mut PgConnection,
    connection_id: Uuid,
    opportunity_id: &str,
    key: &str,
    current: Option<Uuid>,
) -> QueryResult<Erased> {
    conn.transaction(|c| {
        let now = Utc::now();
        let of_candidate = || {
            interviews::table
                .filter(interviews::connection_id.eq(connection_id))
                .filter(interviews::opportunity_id.eq(opportunity_id))
        };
        // Closed by the erase: those no earlier close or completion ended.
        diesel::update(
            of_candidate()
                .filter(interviews::close_reason.is_null())
                .filter(interviews::completed_at.is_null()),
        )
        .set((
            interviews::close_reason.eq(CloseReason::Erased),
            interviews::cancelled_at.eq(now),
        ))
        .execute(c)?;
        super::attention::clear(c, connection_id, opportunity_id)?;
        let ids: Vec<Uuid> = diesel::update(of_candidate())
            .set((
                interviews::status.eq(InterviewStatus::Erased),
                interviews::opportunity_id.eq(key),
                interviews::posting_id.eq(None::<String>),
                interviews::posting_title.eq(None::<String>),
                interviews::result.eq(None::<serde_json::Value>),
                interviews::live_url.eq(None::<String>),
                interviews::results_url.eq(None::<String>),
                interviews::note_id.eq(None::<String>),
                interviews::updated_at.eq(now),
            ))
            .returning(interviews::id)
            .get_results(c)?;
        diesel::update(jobs::table.filter(jobs::interview_id.eq_any(&ids)))
            .set((
                jobs::status.eq(JobStatus::Done),
                jobs::last_error.eq(None::<String>),
                jobs::updated_at.eq(now),
            ))
            .execute(c)?;
        let events = erase_events(c, connection_id, opportunity_id, key, current)?;
        super::audit::forget_candidate(c, connection_id, opportunity_id, key)?;
        super::lever_call::erase(c, connection_id, key)?;
        for table in ["connection_health", "connection_sweeps"] {
            // An error kept for the health page may quote a Lever path.
            diesel::sql_query(format!(
                "UPDATE {table} SET last_error = replace(last_error, $2, '[erased]') \
                 WHERE connection_id = $1 AND strpos(last_error, $2) > 0"
            ))
            .bind::<SqlUuid, _>(connection_id)
            .bind::<Text, _>(opportunity_id)
            .execute(c)?;
        }
        diesel::insert_into(erased_candidates::table)
            .values((
                erased_candidates::connection_id.eq(connection_id),
                erased_candidates::opportunity_key.eq(key),
                erased_candidates::erased_at.eq(now),
            ))
            .on_conflict((
                erased_candidates::connection_id,
                erased_candidates::opportunity_key,
            ))
            .do_update()
            .set(erased_candidates::erased_at.eq(now))
            .execute(c)?;
        Ok(Erased {
            interviews: ids.len(),
            events,
        })
    })
}

/// The candidate's events, found through the indexes the export uses (the
/// move-key range for stage changes, the lifecycle index for the rest):
/// payload and errors gone, the id (also inside a sweep's token) replaced
/// by `key`, unfinished ones `ignored` (`erased`). The erasing event
/// (`current`) is stored `done` with them: its claim is keyed by the id it
/// no longer holds, so a poll between this commit and the unit's settle
/// would otherwise find it due under the new key and run it a second time.
fn erase_events(
    c: &mut PgConnection,
    connection_id: Uuid,
    opportunity_id: &str,
    key: &str,
    current: Option<Uuid>,
) -> QueryResult<usize> {
    let unfinished = crate::domain::status::in_list(
        &[EventStatus::Pending, EventStatus::Retrying],
        EventStatus::as_str,
    );
    diesel::sql_query(format!(
        "UPDATE lever_events SET payload = '{{}}', opportunity_id = $3, \
           token = replace(token, $2, $3), last_error = NULL, updated_at = now(), \
           reason = CASE WHEN status IN ({unfinished}) AND id IS DISTINCT FROM $4 \
                    THEN '{erased}' ELSE reason END, \
           status = CASE WHEN id = $4 THEN '{done}' \
                         WHEN status IN ({unfinished}) THEN '{ignored}' ELSE status END \
         WHERE id IN ( \
           SELECT id FROM lever_events \
            WHERE arkiter_move_key(connection_id, opportunity_id, event, to_stage_id, \
                                   triggered_at) \
                  BETWEEN arkiter_candidate_low($1, $2) AND arkiter_candidate_high($1, $2) \
              AND connection_id = $1 AND opportunity_id = $2 AND to_stage_id IS NOT NULL \
           UNION ALL \
           SELECT id FROM lever_events \
            WHERE connection_id = $1 AND opportunity_id = $2 AND to_stage_id IS NULL)",
        erased = reasons::ERASED,
        ignored = EventStatus::Ignored,
        done = EventStatus::Done,
    ))
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(opportunity_id)
    .bind::<Text, _>(key)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(current)
    .execute(c)
}

/// When the candidate of `key` was erased, if it was.
pub fn erased_at(
    conn: &mut PgConnection,
    connection_id: Uuid,
    key: &str,
) -> QueryResult<Option<DateTime<Utc>>> {
    erased_candidates::table
        .find((connection_id, key))
        .select(erased_candidates::erased_at)
        .first(conn)
        .optional()
}

/// Which of `keys` were erased, and when.
pub fn erased_among(
    conn: &mut PgConnection,
    connection_id: Uuid,
    keys: &[String],
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    erased_candidates::table
        .filter(erased_candidates::connection_id.eq(connection_id))
        .filter(erased_candidates::opportunity_key.eq_any(keys))
        .select((
            erased_candidates::opportunity_key,
            erased_candidates::erased_at,
        ))
        .load(conn)
}

/// The candidate entered a trigger stage again after its erase: it is a
/// candidate like any other from now on.
pub fn forget(conn: &mut PgConnection, connection_id: Uuid, key: &str) -> QueryResult<usize> {
    diesel::delete(erased_candidates::table.find((connection_id, key))).execute(conn)
}

/// Stores a later event about an erased candidate as `ignored` (`erased`),
/// without its payload, the id replaced by `key` (also in its token).
pub fn scrub_event(
    conn: &mut PgConnection,
    event_id: Uuid,
    opportunity_id: &str,
    key: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE lever_events SET payload = '{}', opportunity_id = $3, \
           token = replace(token, $2, $3), last_error = NULL, status = $4, reason = $5, \
           updated_at = $6 \
         WHERE id = $1",
    )
    .bind::<SqlUuid, _>(event_id)
    .bind::<Text, _>(opportunity_id)
    .bind::<Text, _>(key)
    .bind::<Text, _>(EventStatus::Ignored)
    .bind::<Text, _>(reasons::ERASED)
    .bind::<Timestamptz, _>(Utc::now())
    .execute(conn)
}

/// The connections of `org` holding anything about `opportunity_id` (its
/// interviews or events), through the same indexes as the export. An org
/// has at most one connection: it is read first and bound, so the planner
/// sees the candidate's key range as values (from a joined column it could
/// not estimate it, and read every event of the org).
pub fn connections_holding(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
) -> QueryResult<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        held: bool,
    }
    let Some(connection) = crate::db::schema::connections::table
        .filter(crate::db::schema::connections::org_id.eq(org_id))
        .select(crate::db::schema::connections::id)
        .first::<Uuid>(conn)
        .optional()?
    else {
        return Ok(Vec::new());
    };
    let found: Held = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM interviews i \
                        WHERE i.connection_id = $1 AND i.opportunity_id = $2) \
             OR EXISTS (SELECT 1 FROM lever_events e \
                        WHERE arkiter_move_key(e.connection_id, e.opportunity_id, e.event, \
                                               e.to_stage_id, e.triggered_at) \
                              BETWEEN arkiter_candidate_low($1, $2) \
                                  AND arkiter_candidate_high($1, $2) \
                          AND e.connection_id = $1 AND e.opportunity_id = $2 \
                          AND e.to_stage_id IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM lever_events e WHERE e.connection_id = $1 \
                        AND e.opportunity_id = $2 AND e.to_stage_id IS NULL) AS held",
    )
    .bind::<SqlUuid, _>(connection)
    .bind::<Text, _>(opportunity_id)
    .get_result(conn)?;
    Ok(if found.held {
        vec![connection]
    } else {
        Vec::new()
    })
}

/// The candidate's interviews whose live link may still be on Lever: open
/// ones, completed ones whose results are not posted yet, and those an
/// erase already closed (a retry finishes their writes).
pub fn live_link_holders(
    conn: &mut PgConnection,
    connection_id: Uuid,
    opportunity_id: &str,
) -> QueryResult<Vec<crate::domain::ids::InterviewId>> {
    interviews::table
        .filter(interviews::connection_id.eq(connection_id))
        .filter(interviews::opportunity_id.eq(opportunity_id))
        .filter(
            interviews::status
                .eq_any([
                    InterviewStatus::Creating,
                    InterviewStatus::LinkPosted,
                    InterviewStatus::Completed,
                ])
                .or(interviews::close_reason.eq(CloseReason::Erased)),
        )
        .select(interviews::id)
        .load(conn)
}
