//! The `interviews` table, read side: one row per live interview, looked up by
//! org (admin API) or by one of its two unguessable tokens (the public pages
//! and the interview platform). Its writes are in [`steps`].

pub mod outcome;
pub mod steps;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::page::{Cursor, Page, PageRequest};
use crate::db::schema::{interviews, orgs};
use crate::domain::ids::{ConnectionId, EventId, InterviewId, OrgId, RoleId};
pub use crate::domain::status::InterviewStatus;

/// Every column of `interviews`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interviews, check_for_backend(diesel::pg::Pg))]
pub struct Interview {
    pub id: InterviewId,
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub event_id: Option<EventId>,
    pub opportunity_id: String,
    pub posting_id: Option<String>,
    pub posting_title: Option<String>,
    pub role_id: Option<RoleId>,
    pub role_name: Option<String>,
    pub rule: crate::domain::status::Rule,
    pub status: InterviewStatus,
    pub live_token: String,
    pub results_token: String,
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
    pub results_posted_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The live link as posted to Lever (null: not posted yet, or posted
    /// before it was stored).
    pub live_url: Option<String>,
    /// The results link as posted to Lever.
    pub results_url: Option<String>,
    /// Why it closed (`cancelled`; kept when a completion came after).
    pub close_reason: Option<crate::domain::status::CloseReason>,
    /// The closed or expired tag, once posted (the name as posted).
    pub closed_tag: Option<String>,
}

/// An interview with the name of its org, for the pages and the platform.
#[derive(Debug, Clone)]
pub struct InterviewWithOrg {
    pub interview: Interview,
    pub org_name: String,
}

impl Interview {
    /// One interview of `org_id`; another org's id is `NotFound`.
    pub fn find_for_org(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> QueryResult<Interview> {
        interviews::table
            .find(id)
            .filter(interviews::org_id.eq(org_id))
            .select(Interview::as_select())
            .first(conn)
    }

    /// The org's interviews, newest first, optionally of one status and/or
    /// one Lever opportunity. Keyset pagination on `(created_at, id)`
    /// descending, so interviews created while an admin pages never shift
    /// later pages.
    pub fn list_for_org(
        conn: &mut PgConnection,
        org_id: Uuid,
        status: Option<InterviewStatus>,
        opportunity_id: Option<&str>,
        page: PageRequest,
    ) -> QueryResult<Page<Interview>> {
        let mut q = interviews::table
            .filter(interviews::org_id.eq(org_id))
            .select(Interview::as_select())
            .order((interviews::created_at.desc(), interviews::id.desc()))
            .limit(page.limit + 1)
            .into_boxed();
        if let Some(s) = status {
            q = q.filter(interviews::status.eq(s.as_str()));
        }
        if let Some(o) = opportunity_id {
            q = q.filter(interviews::opportunity_id.eq(o));
        }
        if let Some(c) = page.after {
            q = q.filter(
                interviews::created_at
                    .lt(c.t)
                    .or(interviews::created_at.eq(c.t).and(interviews::id.lt(c.id))),
            );
        }
        let rows = q.load(conn)?;
        Ok(page.finish(rows, |r| Cursor {
            t: r.created_at,
            id: r.id.0,
        }))
    }

    /// The interview behind a live link, with its org's name.
    pub fn find_by_live_token(
        conn: &mut PgConnection,
        token: &str,
    ) -> QueryResult<Option<InterviewWithOrg>> {
        with_org(conn, TokenColumn::Live, token)
    }

    /// The interview behind a results link, with its org's name.
    pub fn find_by_results_token(
        conn: &mut PgConnection,
        token: &str,
    ) -> QueryResult<Option<InterviewWithOrg>> {
        with_org(conn, TokenColumn::Results, token)
    }
}

/// Which of the two unguessable token columns to look an interview up by.
#[derive(Debug, Clone, Copy)]
enum TokenColumn {
    Live,
    Results,
}

fn with_org(
    conn: &mut PgConnection,
    column: TokenColumn,
    token: &str,
) -> QueryResult<Option<InterviewWithOrg>> {
    let q = interviews::table
        .inner_join(orgs::table)
        .select((Interview::as_select(), orgs::name))
        .into_boxed();
    // Both columns are unique indexes, so this is one index probe.
    let q = match column {
        TokenColumn::Live => q.filter(interviews::live_token.eq(token)),
        TokenColumn::Results => q.filter(interviews::results_token.eq(token)),
    };
    let found = q.first::<(Interview, String)>(conn).optional()?;
    Ok(found.map(|(interview, org_name)| InterviewWithOrg {
        interview,
        org_name,
    }))
}
