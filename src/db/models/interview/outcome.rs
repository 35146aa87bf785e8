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
    pub feedback_id: Option<String>,
    pub file_id: Option<String>,
    /// One line per result kind the note stood in for: `kind: why`.
    pub note_instead: Option<String>,
    pub note_sent_at: Option<chrono::DateTime<Utc>>,
    pub feedback_sent_at: Option<chrono::DateTime<Utc>>,
    pub file_sent_at: Option<chrono::DateTime<Utc>>,
}

impl InterviewOutcome {
    /// Whether the note already stands in for result `kind`.
    pub fn note_stands_in_for(&self, kind: &str) -> bool {
        self.note_instead
            .as_deref()
            .is_some_and(|t| t.lines().any(|l| l.split(':').next() == Some(kind)))
    }
}

/// A result written beyond the note: its Lever id, or why the note stands
/// in for it; or that a note, form or file is about to be sent.
#[derive(Debug, Clone, Copy)]
pub enum ResultStep<'a> {
    Feedback(&'a str),
    File(&'a str),
    /// All the `kind: why` lines so far.
    NoteInstead(&'a str),
    NoteSending,
    FeedbackSending,
    FileSending,
}

/// Stores one result step (each is safe to repeat). An upsert: an
/// interview an older instance made may have no row yet.
pub fn record_result(
    conn: &mut PgConnection,
    id: InterviewId,
    step: ResultStep<'_>,
) -> QueryResult<()> {
    use interview_outcomes::dsl as o;
    let now = Utc::now();
    let insert = diesel::insert_into(interview_outcomes::table)
        .values(o::interview_id.eq(id))
        .on_conflict(o::interview_id)
        .do_update();
    match step {
        ResultStep::Feedback(f) => insert.set(o::feedback_id.eq(f)).execute(conn),
        ResultStep::File(f) => insert.set(o::file_id.eq(f)).execute(conn),
        ResultStep::NoteInstead(why) => insert.set(o::note_instead.eq(why)).execute(conn),
        ResultStep::NoteSending => insert.set(o::note_sent_at.eq(now)).execute(conn),
        ResultStep::FeedbackSending => insert.set(o::feedback_sent_at.eq(now)).execute(conn),
        ResultStep::FileSending => insert.set(o::file_sent_at.eq(now)).execute(conn),
    }
    .map(|_| ())
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
