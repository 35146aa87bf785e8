//! The `jobs` table: follow-up work on an interview (complete, cancel) that
//! the tag updater carries out on Lever. Added by the complete and cancel
//! actions, worked and settled by the pipeline.

use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use super::unit::Settle;
use crate::db::schema::{interviews, jobs};
use crate::domain::ids::{ConnectionId, InterviewId, JobId};
use crate::domain::status::{JobKind, JobStatus};

/// A follow-up job the tag updater works on, with its interview's
/// opportunity (work is claimed per opportunity).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobWork {
    pub id: JobId,
    pub connection_id: ConnectionId,
    pub interview_id: InterviewId,
    pub kind: crate::domain::status::JobKind,
    pub attempts: i32,
    #[diesel(select_expression = interviews::opportunity_id)]
    #[diesel(select_expression_type = interviews::opportunity_id)]
    pub opportunity_id: String,
}

/// Stores how an attempt at the job ended (`Ignored` ends it as done).
#[tracing::instrument(level = "debug", skip_all, fields(job_id = %id))]
pub fn settle_job(conn: &mut PgConnection, id: JobId, s: &Settle) -> QueryResult<usize> {
    let t = jobs::table.find(id);
    let now = Utc::now();
    match s {
        Settle::Done | Settle::Ignored(_) => diesel::update(t)
            .set((
                jobs::status.eq(JobStatus::Done),
                jobs::last_error.eq(None::<String>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Retry { error, at } => diesel::update(t)
            .set((
                jobs::status.eq(JobStatus::Retrying),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::last_error.eq(error),
                jobs::next_attempt_at.eq(at),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Dead { error, .. } => diesel::update(t)
            .set((
                jobs::status.eq(JobStatus::Dead),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::last_error.eq(error),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Defer { error, at } => diesel::update(t)
            .set((
                jobs::last_error.eq(error),
                jobs::next_attempt_at.eq(at),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
    }
}

/// Queues a job on the interview, due now.
#[tracing::instrument(level = "debug", skip_all)]
pub fn add(
    conn: &mut PgConnection,
    connection: ConnectionId,
    interview: InterviewId,
    kind: JobKind,
) -> QueryResult<usize> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::id.eq(Uuid::new_v4()),
            jobs::connection_id.eq(connection),
            jobs::interview_id.eq(interview),
            jobs::kind.eq(kind),
            jobs::status.eq(JobStatus::Pending),
        ))
        .execute(conn)
}

/// Pending jobs of the connection become due now.
pub(super) fn resume(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .filter(jobs::connection_id.eq(connection_id))
            .filter(jobs::status.eq(JobStatus::Pending)),
    )
    .set(jobs::next_attempt_at.eq(Utc::now()))
    .execute(conn)
}

/// Retention: deletes up to `limit` jobs in `status` (`done` or `dead`)
/// whose last change was before `cutoff`.
pub fn prune(
    c: &mut PgConnection,
    status: JobStatus,
    cutoff: chrono::DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    let sql = format!(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
         WHERE status = '{status}' AND updated_at < $1 LIMIT $2)"
    );
    super::prune::delete_batch(c, &sql, cutoff, limit)
}

/// A job as a candidate's export shows it.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobRecord {
    pub id: JobId,
    pub interview_id: InterviewId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

/// The jobs of the given interviews, oldest first.
pub fn of_interviews(conn: &mut PgConnection, ids: &[InterviewId]) -> QueryResult<Vec<JobRecord>> {
    jobs::table
        .filter(jobs::interview_id.eq_any(ids))
        .order((jobs::created_at.asc(), jobs::id.asc()))
        .select(JobRecord::as_select())
        .load(conn)
}
