//! The `connection_results` table: which results a connection's
//! completions write (note, feedback form, PDF file), its passed,
//! not-passed and needs-attention tag names, the feedback template found
//! or made in its Lever account, and the last refusal of a form or a file
//! (docs/contract/results.md). A connection without a row has the
//! defaults; a `None` tag is off.

use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::connection_results;

pub const DEFAULT_PASSED: &str = "Arkiter Live: Passed";
pub const DEFAULT_NOT_PASSED: &str = "Arkiter Live: Not Passed";
pub const DEFAULT_NEEDS_ATTENTION: &str = "Arkiter Live: Needs Attention";

/// What an admin sets.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = connection_results, check_for_backend(diesel::pg::Pg))]
pub struct ResultsSettings {
    pub note: bool,
    pub feedback: bool,
    pub pdf: bool,
    pub tag_passed: Option<String>,
    pub tag_not_passed: Option<String>,
    pub tag_needs_attention: Option<String>,
}

impl Default for ResultsSettings {
    fn default() -> Self {
        Self {
            note: true,
            feedback: false,
            pdf: false,
            tag_passed: Some(DEFAULT_PASSED.to_owned()),
            tag_not_passed: Some(DEFAULT_NOT_PASSED.to_owned()),
            tag_needs_attention: Some(DEFAULT_NEEDS_ATTENTION.to_owned()),
        }
    }
}

impl ResultsSettings {
    /// The scopes the results need: (scope, what needs it).
    pub fn scopes_needed(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.feedback {
            out.push((
                "feedback:write:admin",
                "results.feedback writes a feedback form",
            ));
            out.push((
                "feedback_templates:write:admin",
                "results.feedback makes its feedback template",
            ));
        }
        if self.pdf {
            out.push(("files:write:admin", "results.pdf uploads a file"));
        }
        out
    }

    /// The connection's settings (the defaults when it never changed them).
    pub fn load(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<ResultsSettings> {
        Ok(connection_results::table
            .find(connection_id)
            .select(ResultsSettings::as_select())
            .first(conn)
            .optional()?
            .unwrap_or_default())
    }

    pub fn save(&self, conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<()> {
        let values = (
            connection_results::note.eq(self.note),
            connection_results::feedback.eq(self.feedback),
            connection_results::pdf.eq(self.pdf),
            connection_results::tag_passed.eq(&self.tag_passed),
            connection_results::tag_not_passed.eq(&self.tag_not_passed),
            connection_results::tag_needs_attention.eq(&self.tag_needs_attention),
        );
        diesel::insert_into(connection_results::table)
            .values((connection_results::connection_id.eq(connection_id), values))
            .on_conflict(connection_results::connection_id)
            .do_update()
            .set(values)
            .execute(conn)
            .map(|_| ())
    }
}

/// The feedback template kept for the connection: `{"account","id","fields"}`.
pub fn feedback_template(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<serde_json::Value>> {
    Ok(connection_results::table
        .find(connection_id)
        .select(connection_results::feedback_template)
        .first::<Option<serde_json::Value>>(conn)
        .optional()?
        .flatten())
}

/// Keeps the template found or made (a row with the defaults if none yet).
pub fn keep_feedback_template(
    conn: &mut PgConnection,
    connection_id: Uuid,
    template: &serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(connection_results::table)
        .values((
            connection_results::connection_id.eq(connection_id),
            connection_results::feedback_template.eq(template),
        ))
        .on_conflict(connection_results::connection_id)
        .do_update()
        .set(connection_results::feedback_template.eq(template))
        .execute(conn)
        .map(|_| ())
}

/// Lever refused a form or a file (`what`), for the health report; `None`
/// clears it after a write of that kind went through.
pub fn refused(
    conn: &mut PgConnection,
    connection_id: Uuid,
    what: &str,
    why: Option<&str>,
) -> QueryResult<()> {
    let value = why.map(|w| serde_json::json!({"what": what, "why": w, "at": Utc::now()}));
    match value {
        Some(v) => diesel::insert_into(connection_results::table)
            .values((
                connection_results::connection_id.eq(connection_id),
                connection_results::results_refused.eq(&v),
            ))
            .on_conflict(connection_results::connection_id)
            .do_update()
            .set(connection_results::results_refused.eq(&v))
            .execute(conn)
            .map(|_| ()),
        None => diesel::update(
            connection_results::table.find(connection_id).filter(
                connection_results::results_refused
                    .retrieve_as_text("what")
                    .eq(what),
            ),
        )
        .set(connection_results::results_refused.eq(None::<serde_json::Value>))
        .execute(conn)
        .map(|_| ()),
    }
}

/// The last refusal, if not cleared since.
pub fn last_refusal(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<serde_json::Value>> {
    Ok(connection_results::table
        .find(connection_id)
        .select(connection_results::results_refused)
        .first::<Option<serde_json::Value>>(conn)
        .optional()?
        .flatten())
}
