//! The pipeline's state transitions in Postgres: finding due work, claiming
//! it, and recording each step. The database is the source of truth; actor
//! messages are only wake-ups, so every function here is safe to repeat.

use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{interviews, jobs, lever_events};

/// An event the link generator works on.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lever_events, check_for_backend(diesel::pg::Pg))]
pub struct EventWork {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub org_id: Uuid,
    pub opportunity_id: Option<String>,
    pub to_stage_id: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub interview_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
}

/// A follow-up job the tag updater works on, with its interview's
/// opportunity (work is claimed per opportunity).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobWork {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub interview_id: Uuid,
    pub kind: String,
    pub attempts: i32,
    #[diesel(select_expression = interviews::opportunity_id)]
    #[diesel(select_expression_type = interviews::opportunity_id)]
    pub opportunity_id: String,
}

/// `status IN ('pending', 'retrying')` written as literals, exactly the
/// predicate of the partial `*_due` indexes: a bound array (`= ANY($n)`)
/// cannot prove it once Postgres switches a prepared statement to its
/// generic plan, and the query then scans and sorts every open row.
fn open_events() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("lever_events.status IN ('pending', 'retrying')")
}

fn open_jobs() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("jobs.status IN ('pending', 'retrying')")
}

/// Connections with work due now (the registry's safety-net poll).
pub fn connections_with_due_work(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    let now = Utc::now();
    let mut ids: Vec<Uuid> = lever_events::table
        .filter(open_events())
        .filter(lever_events::next_attempt_at.le(now))
        .select(lever_events::connection_id)
        .distinct()
        .load(conn)?;
    let job_ids: Vec<Uuid> = jobs::table
        .filter(open_jobs())
        .filter(jobs::next_attempt_at.le(now))
        .select(jobs::connection_id)
        .distinct()
        .load(conn)?;
    ids.extend(job_ids);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// What a poll must not hand out again: units in flight, and every unit of
/// an opportunity that has one in flight (work is serialised per candidate).
#[derive(Debug, Default, Clone)]
pub struct Claimed {
    pub units: Vec<Uuid>,
    pub opportunities: Vec<String>,
}

/// Due events of a connection, longest due first (a new event is due from
/// its arrival), skipping claimed units and opportunities.
pub fn due_events(
    conn: &mut PgConnection,
    connection_id: Uuid,
    skip: &Claimed,
    limit: i64,
) -> QueryResult<Vec<EventWork>> {
    due_events_query(connection_id, Utc::now(), skip, limit).load(conn)
}

/// The query [`due_events`] runs, apart so that its plan can be checked: it
/// walks the `lever_events_due` index in order and stops after `limit` rows,
/// however many events are open.
pub fn due_events_query(
    connection_id: Uuid,
    now: DateTime<Utc>,
    skip: &Claimed,
    limit: i64,
) -> lever_events::BoxedQuery<'_, Pg, SqlTypeOf<AsSelect<EventWork, Pg>>> {
    lever_events::table
        .filter(lever_events::connection_id.eq(connection_id))
        .filter(open_events())
        .filter(lever_events::next_attempt_at.le(now))
        .filter(lever_events::id.ne_all(&skip.units))
        .filter(
            lever_events::opportunity_id
                .ne_all(&skip.opportunities)
                .or(lever_events::opportunity_id.is_null()),
        )
        .order(lever_events::next_attempt_at)
        .limit(limit)
        .select(EventWork::as_select())
        .into_boxed()
}

pub fn due_jobs(
    conn: &mut PgConnection,
    connection_id: Uuid,
    skip: &Claimed,
    limit: i64,
) -> QueryResult<Vec<JobWork>> {
    jobs::table
        .inner_join(interviews::table)
        .filter(jobs::connection_id.eq(connection_id))
        .filter(open_jobs())
        .filter(jobs::next_attempt_at.le(Utc::now()))
        .filter(jobs::id.ne_all(&skip.units))
        .filter(interviews::opportunity_id.ne_all(&skip.opportunities))
        .order(jobs::next_attempt_at)
        .limit(limit)
        .select(JobWork::as_select())
        .load(conn)
}

/// The earliest future attempt of the connection's open work, to sleep until.
pub fn next_due_at(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<DateTime<Utc>>> {
    let e: Option<DateTime<Utc>> = lever_events::table
        .filter(lever_events::connection_id.eq(connection_id))
        .filter(open_events())
        .select(diesel::dsl::min(lever_events::next_attempt_at))
        .first(conn)?;
    let j: Option<DateTime<Utc>> = jobs::table
        .filter(jobs::connection_id.eq(connection_id))
        .filter(open_jobs())
        .select(diesel::dsl::min(jobs::next_attempt_at))
        .first(conn)?;
    Ok(match (e, j) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// How an attempt at a unit of work ended, as stored.
#[derive(Debug, Clone)]
pub enum Settle {
    Done,
    Ignored(&'static str),
    /// A failure of this job: counts an attempt.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    Dead {
        error: String,
    },
    /// The account is paused (Lever down, throttled, needs re-auth): no attempt used.
    Defer {
        error: Option<String>,
        at: DateTime<Utc>,
    },
}

impl Settle {
    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Ignored(_) => "ignored",
            Self::Retry { .. } => "retry",
            Self::Dead { .. } => "dead",
            Self::Defer { .. } => "deferred",
        }
    }
}

pub fn settle_event(conn: &mut PgConnection, id: Uuid, s: &Settle) -> QueryResult<usize> {
    let t = lever_events::table.find(id);
    let now = Utc::now();
    match s {
        Settle::Done => diesel::update(t)
            .set((
                lever_events::status.eq("done"),
                lever_events::last_error.eq(None::<String>),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Ignored(reason) => diesel::update(t)
            .set((
                lever_events::status.eq("ignored"),
                lever_events::reason.eq(*reason),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Retry { error, at } => diesel::update(t)
            .set((
                lever_events::status.eq("retrying"),
                lever_events::attempts.eq(lever_events::attempts + 1),
                lever_events::last_error.eq(error),
                lever_events::next_attempt_at.eq(at),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Dead { error } => diesel::update(t)
            .set((
                lever_events::status.eq("dead"),
                lever_events::attempts.eq(lever_events::attempts + 1),
                lever_events::last_error.eq(error),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Defer { error, at } => diesel::update(t)
            .set((
                lever_events::last_error.eq(error),
                lever_events::next_attempt_at.eq(at),
                lever_events::updated_at.eq(now),
            ))
            .execute(conn),
    }
}

pub fn settle_job(conn: &mut PgConnection, id: Uuid, s: &Settle) -> QueryResult<usize> {
    let t = jobs::table.find(id);
    let now = Utc::now();
    match s {
        Settle::Done | Settle::Ignored(_) => diesel::update(t)
            .set((
                jobs::status.eq("done"),
                jobs::last_error.eq(None::<String>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Retry { error, at } => diesel::update(t)
            .set((
                jobs::status.eq("retrying"),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::last_error.eq(error),
                jobs::next_attempt_at.eq(at),
                jobs::updated_at.eq(now),
            ))
            .execute(conn),
        Settle::Dead { error } => diesel::update(t)
            .set((
                jobs::status.eq("dead"),
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

/// An interview row as the workers need it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interviews, check_for_backend(diesel::pg::Pg))]
pub struct InterviewWork {
    pub id: Uuid,
    pub opportunity_id: String,
    pub status: String,
    pub live_token: String,
    pub results_token: String,
    pub role_name: Option<String>,
    pub link_added_at: Option<DateTime<Utc>>,
    pub link_tag: Option<String>,
    pub link_posted_at: Option<DateTime<Utc>>,
    pub result: Option<serde_json::Value>,
    pub completed_at: Option<DateTime<Utc>>,
    pub results_link_added_at: Option<DateTime<Utc>>,
    pub live_link_removed_at: Option<DateTime<Utc>>,
    pub completed_tag: Option<String>,
    pub completed_tag_added_at: Option<DateTime<Utc>>,
    pub link_tag_removed_at: Option<DateTime<Utc>>,
    pub note_id: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub live_url: Option<String>,
    pub results_url: Option<String>,
}

pub fn interview(conn: &mut PgConnection, id: Uuid) -> QueryResult<InterviewWork> {
    interviews::table
        .find(id)
        .select(InterviewWork::as_select())
        .first(conn)
}

/// What link generation decided for a new stage entry.
pub struct NewInterview<'a> {
    pub org_id: Uuid,
    pub connection_id: Uuid,
    pub event_id: Uuid,
    pub opportunity_id: &'a str,
    /// The stage it is in, and when it entered it (from the fresh read).
    pub stage_id: &'a str,
    pub entered_at: Option<i64>,
    pub posting_id: Option<&'a str>,
    pub posting_title: Option<&'a str>,
    pub role_id: Option<Uuid>,
    pub role_name: Option<&'a str>,
    pub rule: &'a str,
    pub live_token: &'a str,
    pub results_token: &'a str,
}

/// Reuses the opportunity's open interview, or the interview of its current
/// stage entry, or creates one; ties the event to it. One transaction; the unique "one open interview" index settles a
/// race (only possible across a lease takeover): the loser's insert fails,
/// and the retry finds and reuses the winner's interview.
pub fn open_interview(conn: &mut PgConnection, n: &NewInterview<'_>) -> QueryResult<Uuid> {
    match open_interview_once(conn, n) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => open_interview_once(conn, n),
        other => other,
    }
}

fn open_interview_once(conn: &mut PgConnection, n: &NewInterview<'_>) -> QueryResult<Uuid> {
    conn.transaction(|conn| {
        let open: Option<Uuid> = interviews::table
            .filter(interviews::connection_id.eq(n.connection_id))
            .filter(interviews::opportunity_id.eq(n.opportunity_id))
            .filter(interviews::status.eq_any(["creating", "link_posted"]))
            .select(interviews::id)
            .first(conn)
            .optional()?;
        // A late second event of an entry already handled (a sweep found
        // the candidate, then Lever's retry arrived after the interview was
        // completed): it works that entry's interview, never a second one.
        let open = match (open, n.entered_at) {
            (None, Some(at)) => crate::sweep::store::interview_for_entry(
                conn,
                n.connection_id,
                n.stage_id,
                n.opportunity_id,
                at,
            )?,
            (open, _) => open,
        };
        let id = match open {
            Some(id) => id,
            None => diesel::insert_into(interviews::table)
                .values((
                    interviews::id.eq(Uuid::new_v4()),
                    interviews::org_id.eq(n.org_id),
                    interviews::connection_id.eq(n.connection_id),
                    interviews::event_id.eq(n.event_id),
                    interviews::opportunity_id.eq(n.opportunity_id),
                    interviews::posting_id.eq(n.posting_id),
                    interviews::posting_title.eq(n.posting_title),
                    interviews::role_id.eq(n.role_id),
                    interviews::role_name.eq(n.role_name),
                    interviews::rule.eq(n.rule),
                    interviews::status.eq("creating"),
                    interviews::live_token.eq(n.live_token),
                    interviews::results_token.eq(n.results_token),
                ))
                .returning(interviews::id)
                .get_result(conn)?,
        };
        tie_event(conn, n.event_id, id)?;
        Ok(id)
    })
}

/// Records which interview an event's stage entry is.
fn tie_event(conn: &mut PgConnection, event_id: Uuid, interview_id: Uuid) -> QueryResult<usize> {
    diesel::update(lever_events::table.find(event_id))
        .set(lever_events::interview_id.eq(interview_id))
        .execute(conn)
}

/// One recorded step of an interview.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The live link, as posted.
    LinkAdded(&'a str),
    LinkTagged(&'a str),
    /// The results link, as posted.
    ResultsLinkAdded(&'a str),
    LiveLinkRemoved,
    CompletedTagAdded(&'a str),
    LinkTagRemoved,
    NotePosted(&'a str),
    ResultsPosted,
    Failed,
}

pub fn record(conn: &mut PgConnection, id: Uuid, step: Step<'_>) -> QueryResult<usize> {
    let t = interviews::table.find(id);
    let now = Utc::now();
    let touched = interviews::updated_at.eq(now);
    match step {
        Step::LinkAdded(url) => diesel::update(t)
            .set((
                interviews::link_added_at.eq(now),
                interviews::live_url.eq(url),
                touched,
            ))
            .execute(conn),
        Step::LinkTagged(tag) => diesel::update(t)
            .set((
                interviews::link_tag.eq(tag),
                interviews::link_posted_at.eq(now),
                // A completion that came early is already stored: show it.
                interviews::status.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                    "CASE WHEN status = 'creating' AND completed_at IS NOT NULL THEN 'completed' \
                     WHEN status = 'creating' THEN 'link_posted' ELSE status END",
                )),
                touched,
            ))
            .execute(conn),
        Step::ResultsLinkAdded(url) => diesel::update(t)
            .set((
                interviews::results_link_added_at.eq(now),
                interviews::results_url.eq(url),
                touched,
            ))
            .execute(conn),
        Step::LiveLinkRemoved => diesel::update(t)
            .set((interviews::live_link_removed_at.eq(now), touched))
            .execute(conn),
        Step::CompletedTagAdded(tag) => diesel::update(t)
            .set((
                interviews::completed_tag.eq(tag),
                interviews::completed_tag_added_at.eq(now),
                touched,
            ))
            .execute(conn),
        Step::LinkTagRemoved => diesel::update(t)
            .set((interviews::link_tag_removed_at.eq(now), touched))
            .execute(conn),
        Step::NotePosted(note) => diesel::update(t)
            .set((interviews::note_id.eq(note), touched))
            .execute(conn),
        Step::ResultsPosted => diesel::update(t.filter(interviews::status.eq("completed")))
            .set((
                interviews::status.eq("results_posted"),
                interviews::results_posted_at.eq(now),
                touched,
            ))
            .execute(conn),
        Step::Failed => diesel::update(t.filter(interviews::status.eq("creating")))
            .set((interviews::status.eq("failed"), touched))
            .execute(conn),
    }
}

/// An event that went `dead`: its interview, if its link never got posted, is `failed`.
pub fn fail_event_interview(conn: &mut PgConnection, event_id: Uuid) -> QueryResult<usize> {
    let iv: Option<Uuid> = lever_events::table
        .find(event_id)
        .select(lever_events::interview_id)
        .first::<Option<Uuid>>(conn)?;
    match iv {
        Some(id) => record(conn, id, Step::Failed),
        None => Ok(0),
    }
}

/// The account can work again (reconnected, settings fixed): paused units
/// become due now. Units waiting on their own retry schedule keep it.
pub fn resume_account(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
    let now = Utc::now();
    let e = diesel::update(
        lever_events::table
            .filter(lever_events::connection_id.eq(connection_id))
            .filter(lever_events::status.eq("pending")),
    )
    .set(lever_events::next_attempt_at.eq(now))
    .execute(conn)?;
    let j = diesel::update(
        jobs::table
            .filter(jobs::connection_id.eq(connection_id))
            .filter(jobs::status.eq("pending")),
    )
    .set(jobs::next_attempt_at.eq(now))
    .execute(conn)?;
    crate::wake::notify(conn, connection_id)?;
    Ok(e + j)
}
