//! The `interview_outcomes` side table: the trigger stage an interview was
//! linked from, and what its completion decided beyond the swap and the
//! note: the outcome, the outcome tag as posted, and the pass move
//! (docs/contract/results.md). One row per interview, made with it.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;

use crate::db::schema::interview_outcomes;
use crate::domain::ids::InterviewId;
pub use crate::domain::status::{Outcome, StageMove};

#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = interview_outcomes, check_for_backend(diesel::pg::Pg))]
pub struct InterviewOutcome {
    pub stage_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub outcome_tag: Option<String>,
    pub stage_move: Option<StageMove>,
}

/// Made with the interview, in its transaction.
pub fn open(conn: &mut PgConnection, id: InterviewId, stage_id: &str) -> QueryResult<()> {
    diesel::insert_into(interview_outcomes::table)
        .values((
            interview_outcomes::interview_id.eq(id),
            interview_outcomes::stage_id.eq(stage_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|_| ())
}

/// The interview's row (an interview made before the table: an empty one).
pub fn of(conn: &mut PgConnection, id: InterviewId) -> QueryResult<InterviewOutcome> {
    Ok(interview_outcomes::table
        .find(id)
        .select(InterviewOutcome::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

/// The rows of a page of interviews.
pub fn of_many(
    conn: &mut PgConnection,
    ids: &[InterviewId],
) -> QueryResult<HashMap<InterviewId, InterviewOutcome>> {
    let rows: Vec<(InterviewId, InterviewOutcome)> = interview_outcomes::table
        .filter(interview_outcomes::interview_id.eq_any(ids))
        .select((
            interview_outcomes::interview_id,
            InterviewOutcome::as_select(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The outcome, and the tag that says it once that tag is on Lever.
pub fn record_outcome(
    conn: &mut PgConnection,
    id: InterviewId,
    outcome: Outcome,
    tag: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(interview_outcomes::table)
        .values((
            interview_outcomes::interview_id.eq(id),
            interview_outcomes::outcome.eq(outcome),
            interview_outcomes::outcome_tag.eq(tag),
        ))
        .on_conflict(interview_outcomes::interview_id)
        .do_update()
        .set((
            interview_outcomes::outcome.eq(outcome),
            interview_outcomes::outcome_tag.eq(tag),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The pass move, done or given up, once.
pub fn record_stage_move(
    conn: &mut PgConnection,
    id: InterviewId,
    how: StageMove,
) -> QueryResult<()> {
    diesel::update(interview_outcomes::table.find(id))
        .set((
            interview_outcomes::stage_move.eq(how),
            interview_outcomes::stage_move_at.eq(Utc::now()),
        ))
        .execute(conn)
        .map(|_| ())
}
