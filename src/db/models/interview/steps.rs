//! The `interviews` table's writes and the pipeline's reads of it: opening
//! an interview for a stage entry (or reusing the one it already has), each
//! recorded step on Lever, and the platform's result and the admin's cancel.
//! The admin API's and public pages' reads are in
//! [`super`].

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::models::interview::Interview;
use crate::db::models::lever_event::work as events;
use crate::db::schema::interviews;
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId, RoleId};
use crate::domain::roles::Rule;
use crate::domain::status::{CloseReason, InterviewStatus};

/// The interview row the workers act on.
pub fn interview(conn: &mut PgConnection, id: InterviewId) -> QueryResult<Interview> {
    interviews::table
        .find(id)
        .select(Interview::as_select())
        .first(conn)
}

/// What link generation decided for a new stage entry.
pub struct NewInterview<'a> {
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub event_id: EventId,
    pub opportunity_id: &'a str,
    /// The stage it is in, and when it entered it (from the fresh read).
    pub stage_id: &'a str,
    pub entered_at: Option<i64>,
    pub posting_id: Option<&'a str>,
    pub posting_title: Option<&'a str>,
    pub role_id: Option<RoleId>,
    pub role_name: Option<&'a str>,
    pub rule: Rule,
    pub live_token: &'a str,
    pub results_token: &'a str,
    /// An admin's re-invite: never the interview this entry already had.
    pub fresh: bool,
}

/// Reuses the opportunity's open interview, or the interview of its current
/// stage entry, or creates one; ties the event to it. One transaction; the
/// unique "one open interview" index settles a race (only possible across a lease takeover): the loser's insert fails,
/// and the retry finds and reuses the winner's interview.
#[tracing::instrument(level = "debug", skip_all)]
pub fn open_interview(conn: &mut PgConnection, n: &NewInterview<'_>) -> QueryResult<InterviewId> {
    match open_interview_once(conn, n) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => open_interview_once(conn, n),
        other => other,
    }
}

fn open_interview_once(conn: &mut PgConnection, n: &NewInterview<'_>) -> QueryResult<InterviewId> {
    conn.transaction(|conn| {
        let open: Option<InterviewId> = interviews::table
            .filter(interviews::connection_id.eq(n.connection_id))
            .filter(interviews::opportunity_id.eq(n.opportunity_id))
            .filter(interviews::status.eq_any(InterviewStatus::OPEN))
            .select(interviews::id)
            .first(conn)
            .optional()?;
        // A late second event of an entry already handled (a sweep found
        // the candidate, then Lever's retry arrived after the interview was
        // completed): it works that entry's interview, never a second one.
        let open = match (open, n.entered_at) {
            (None, Some(at)) if !n.fresh => {
                let connection = n.connection_id.0;
                interview_for_entry(conn, connection, n.stage_id, n.opportunity_id, at)?
                    .map(InterviewId)
            }
            (open, _) => open,
        };
        let id = match open {
            Some(id) => id,
            None => {
                let id = diesel::insert_into(interviews::table)
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
                        interviews::status.eq(InterviewStatus::Creating),
                        interviews::live_token.eq(n.live_token),
                        interviews::results_token.eq(n.results_token),
                    ))
                    .returning(interviews::id)
                    .get_result(conn)?;
                super::outcome::open(conn, id, n.stage_id)?;
                id
            }
        };
        events::tie_to_interview(conn, n.event_id, id)?;
        Ok(id)
    })
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
    /// The closed or expired tag, as posted.
    ClosedTagged(&'a str),
}

/// Stores one step of the interview (each is safe to repeat).
#[tracing::instrument(level = "debug", skip_all, fields(interview_id = %id))]
pub fn record(conn: &mut PgConnection, id: InterviewId, step: Step<'_>) -> QueryResult<usize> {
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
                interviews::status.eq(shown_once_linked()),
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
        Step::ResultsPosted => {
            diesel::update(t.filter(interviews::status.eq(InterviewStatus::Completed)))
                .set((
                    interviews::status.eq(InterviewStatus::ResultsPosted),
                    interviews::results_posted_at.eq(now),
                    touched,
                ))
                .execute(conn)
        }
        Step::Failed => diesel::update(t.filter(interviews::status.eq(InterviewStatus::Creating)))
            .set((interviews::status.eq(InterviewStatus::Failed), touched))
            .execute(conn),
        Step::ClosedTagged(tag) => diesel::update(t)
            .set((interviews::closed_tag.eq(tag), touched))
            .execute(conn),
    }
}

/// What `LinkTagged` shows: `link_posted`, or `completed` when a completion
/// came while the link step ran (it is stored, waiting for the link).
fn shown_once_linked() -> diesel::expression::SqlLiteral<Text> {
    use InterviewStatus::{Completed, Creating, LinkPosted};
    diesel::dsl::sql(&format!(
        "CASE WHEN status = '{Creating}' AND completed_at IS NOT NULL THEN '{Completed}' \
         WHEN status = '{Creating}' THEN '{LinkPosted}' ELSE status END"
    ))
}

/// An event that went `dead`: its interview, if its link never got posted, is `failed`.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id))]
pub fn fail_event_interview(conn: &mut PgConnection, event_id: EventId) -> QueryResult<usize> {
    match events::interview_of(conn, event_id)? {
        Some(id) => record(conn, id, Step::Failed),
        None => Ok(0),
    }
}

/// A replayed event whose interview is `failed` (its link step went dead):
/// the interview becomes `creating` again, so that the link step runs once
/// more for that stage entry. Left as it is when the candidate has another
/// open interview by now (one open interview per candidate). `Some(true)`:
/// revived, with a completion stored while it was failing, whose swap must
/// be queued again.
#[tracing::instrument(level = "debug", skip_all, fields(event_id = %event_id))]
pub fn revive_event_interview(
    conn: &mut PgConnection,
    event_id: EventId,
) -> QueryResult<Option<(InterviewId, bool)>> {
    let Some(id) = events::interview_of(conn, event_id)? else {
        return Ok(None);
    };
    let revived: Option<bool> = diesel::sql_query(format!(
        "UPDATE interviews i SET status = '{creating}', updated_at = now() \
         WHERE i.id = $1 AND i.status = '{failed}' \
           AND NOT EXISTS (SELECT 1 FROM interviews o \
               WHERE o.connection_id = i.connection_id AND o.opportunity_id = i.opportunity_id \
                 AND o.id <> i.id AND o.status IN ({open})) \
         RETURNING i.completed_at IS NOT NULL AS completed",
        creating = InterviewStatus::Creating,
        failed = InterviewStatus::Failed,
        open = crate::domain::status::in_list(InterviewStatus::OPEN, InterviewStatus::as_str),
    ))
    .bind::<SqlUuid, _>(id.0)
    .get_result::<Revived>(conn)
    .optional()?
    .map(|r| r.completed);
    Ok(revived.map(|completed| (id, completed)))
}

#[derive(QueryableByName)]
struct Revived {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    completed: bool,
}

#[derive(QueryableByName)]
struct FoundInterview {
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
    let found: Option<FoundInterview> = diesel::sql_query(
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

/// The platform's result for an open interview. Before its link is posted
/// it stays `creating` (the link step shows it completed once it lands).
#[tracing::instrument(level = "debug", skip_all, fields(interview_id = %id))]
pub fn store_result(
    conn: &mut PgConnection,
    id: InterviewId,
    result: &serde_json::Value,
    shown: InterviewStatus,
) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::update(interviews::table.find(id))
        .set((
            interviews::result.eq(result),
            interviews::completed_at.eq(now),
            interviews::status.eq(shown),
            interviews::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The admin cancelled the interview.
#[tracing::instrument(level = "debug", skip_all, fields(interview_id = %id))]
pub fn cancel(conn: &mut PgConnection, id: InterviewId) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::update(interviews::table.find(id))
        .set((
            interviews::status.eq(InterviewStatus::Cancelled),
            interviews::close_reason.eq(CloseReason::Admin),
            interviews::cancelled_at.eq(now),
            interviews::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The candidate's open interview on this connection, if any (at most one:
/// a unique index keeps it so).
pub fn open_of_candidate(
    conn: &mut PgConnection,
    connection_id: ConnectionId,
    opportunity_id: &str,
) -> QueryResult<Option<InterviewId>> {
    interviews::table
        .filter(interviews::connection_id.eq(connection_id))
        .filter(interviews::opportunity_id.eq(opportunity_id))
        .filter(interviews::status.eq_any(InterviewStatus::OPEN))
        .select(interviews::id)
        .first(conn)
        .optional()
}

/// Closes an open interview that has no result, for `reason`, and ties the
/// closing event to it, if given (so a retry of that event finishes this
/// close).
/// `false`: it was no longer open, or a completion was stored first
/// (completed interviews are never closed). The update's own condition
/// decides, after any completion holding the row lock has committed.
#[tracing::instrument(level = "debug", skip_all, fields(interview_id = %id))]
pub fn close(
    conn: &mut PgConnection,
    id: InterviewId,
    reason: CloseReason,
    event: Option<EventId>,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let now = Utc::now();
        let closed = diesel::update(
            interviews::table
                .find(id)
                .filter(interviews::status.eq_any(InterviewStatus::OPEN))
                .filter(interviews::completed_at.is_null()),
        )
        .set((
            interviews::status.eq(InterviewStatus::Cancelled),
            interviews::close_reason.eq(reason),
            interviews::cancelled_at.eq(now),
            interviews::updated_at.eq(now),
        ))
        .execute(conn)?
            == 1;
        if let (true, Some(event)) = (closed, event) {
            events::tie_to_interview(conn, event, id)?;
        }
        Ok(closed)
    })
}

/// What the complete and cancel actions decide on.
#[derive(Debug, Clone, Queryable)]
pub struct ActionView {
    pub status: InterviewStatus,
    pub close_reason: Option<CloseReason>,
    pub connection_id: ConnectionId,
    pub result: Option<serde_json::Value>,
    pub completed: bool,
}

/// An interview of `org`, as the complete and cancel actions see it, its
/// row locked (`FOR UPDATE`) until the caller's transaction ends, so that
/// racing actions on one interview decide one after the other.
pub fn find_for_action(
    conn: &mut PgConnection,
    org: OrgId,
    id: InterviewId,
) -> QueryResult<Option<ActionView>> {
    interviews::table
        .filter(interviews::id.eq(id))
        .filter(interviews::org_id.eq(org))
        .select((
            interviews::status,
            interviews::close_reason,
            interviews::connection_id,
            interviews::result,
            interviews::completed_at.is_not_null(),
        ))
        .for_update()
        .first(conn)
        .optional()
}

/// When an interview's link expires and when it was first opened.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkTimes {
    pub expires_at: Option<chrono::DateTime<Utc>>,
    pub opened_at: Option<chrono::DateTime<Utc>>,
}

/// Sets when the just-posted link of interview `id` expires (`days` after
/// now); kept if already set, so a repeated link step does not move it.
pub fn set_expiry(
    conn: &mut PgConnection,
    id: InterviewId,
    connection_id: ConnectionId,
    days: i32,
) -> QueryResult<usize> {
    use crate::db::schema::interview_links as l;
    let at = Utc::now() + chrono::Duration::days(i64::from(days));
    diesel::insert_into(l::table)
        .values((
            l::interview_id.eq(id),
            l::connection_id.eq(connection_id),
            l::expires_at.eq(at),
        ))
        .on_conflict(l::interview_id)
        .do_update()
        .set(l::expires_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >(
            "coalesce(interview_links.expires_at, excluded.expires_at)",
        )))
        .execute(conn)
}

/// The interview platform resolved the live link: an opened link never
/// expires. The first time counts.
pub fn mark_opened(conn: &mut PgConnection, id: InterviewId) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO interview_links (interview_id, connection_id, opened_at) \
         SELECT id, connection_id, now() FROM interviews WHERE id = $1 \
         ON CONFLICT (interview_id) DO UPDATE \
         SET opened_at = coalesce(interview_links.opened_at, excluded.opened_at)",
    )
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
}

/// The link times of the given interviews (those without a row have none).
pub fn link_times(
    conn: &mut PgConnection,
    ids: &[InterviewId],
) -> QueryResult<std::collections::HashMap<InterviewId, LinkTimes>> {
    use crate::db::schema::interview_links as l;
    type Row = (
        InterviewId,
        Option<chrono::DateTime<Utc>>,
        Option<chrono::DateTime<Utc>>,
    );
    let rows: Vec<Row> = l::table
        .filter(l::interview_id.eq_any(ids))
        .select((l::interview_id, l::expires_at, l::opened_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, expires_at, opened_at)| {
            (
                id,
                LinkTimes {
                    expires_at,
                    opened_at,
                },
            )
        })
        .collect())
}

/// Closes an interview whose link expired unopened, unless it was opened,
/// completed or closed meanwhile (re-checked here, in the update).
pub fn close_expired(conn: &mut PgConnection, id: InterviewId) -> QueryResult<bool> {
    let now = Utc::now();
    let closed = diesel::update(
        interviews::table
            .find(id)
            .filter(interviews::status.eq_any(InterviewStatus::OPEN))
            .filter(interviews::completed_at.is_null())
            .filter(diesel::dsl::not(diesel::dsl::exists(
                crate::db::schema::interview_links::table
                    .filter(crate::db::schema::interview_links::interview_id.eq(id))
                    .filter(crate::db::schema::interview_links::opened_at.is_not_null()),
            ))),
    )
    .set((
        interviews::status.eq(InterviewStatus::Cancelled),
        interviews::close_reason.eq(CloseReason::Expired),
        interviews::cancelled_at.eq(now),
        interviews::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(closed == 1)
}

#[derive(QueryableByName)]
struct DueLink {
    #[diesel(sql_type = SqlUuid)]
    interview_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    open: bool,
}

/// The connection's links whose time has come: each is marked looked at
/// (it leaves the due index), and the ids of those whose interview is still
/// open without a result are returned, for an expire job each.
pub fn take_due_expiries(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Vec<InterviewId>> {
    let due: Vec<DueLink> = diesel::sql_query(
        "UPDATE interview_links l SET expiry_done = true \
         FROM interviews i \
         WHERE l.connection_id = $1 AND NOT l.expiry_done AND l.opened_at IS NULL \
           AND l.expires_at IS NOT NULL AND l.expires_at <= now() AND i.id = l.interview_id \
         RETURNING l.interview_id, (i.status = ANY($2) AND i.completed_at IS NULL) AS open",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<diesel::sql_types::Array<Text>, _>(InterviewStatus::OPEN)
    .load(conn)?;
    Ok(due
        .into_iter()
        .filter(|d| d.open)
        .map(|d| InterviewId(d.interview_id))
        .collect())
}

#[derive(QueryableByName)]
struct NextAt {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    at: Option<chrono::DateTime<Utc>>,
}

/// When the connection's next link expires (from the due index).
pub fn next_expiry(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<chrono::DateTime<Utc>>> {
    let n: NextAt = diesel::sql_query(
        "SELECT min(expires_at) AS at FROM interview_links \
         WHERE connection_id = $1 AND NOT expiry_done AND opened_at IS NULL \
           AND expires_at IS NOT NULL",
    )
    .bind::<SqlUuid, _>(connection_id)
    .get_result(conn)?;
    Ok(n.at)
}

/// The tags earlier interviews of the candidate posted and that a new
/// interview's link step takes off (completed, closed, expired, passed or
/// not passed), as they were posted.
pub fn earlier_tags(
    conn: &mut PgConnection,
    connection_id: ConnectionId,
    opportunity_id: &str,
    current: InterviewId,
) -> QueryResult<Vec<String>> {
    use crate::db::schema::interview_outcomes;
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> = interviews::table
        .left_join(interview_outcomes::table)
        .filter(interviews::connection_id.eq(connection_id))
        .filter(interviews::opportunity_id.eq(opportunity_id))
        .filter(interviews::id.ne(current))
        .filter(
            interviews::completed_tag
                .is_not_null()
                .or(interviews::closed_tag.is_not_null())
                .or(interview_outcomes::outcome_tag.is_not_null()),
        )
        .select((
            interviews::completed_tag,
            interviews::closed_tag,
            interview_outcomes::outcome_tag.nullable(),
        ))
        .load(conn)?;
    let mut tags: Vec<String> = rows
        .into_iter()
        .flat_map(|(done, closed, outcome)| done.into_iter().chain(closed).chain(outcome))
        .collect();
    tags.sort();
    tags.dedup();
    Ok(tags)
}
