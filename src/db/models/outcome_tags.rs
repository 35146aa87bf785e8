//! The `connection_outcomes` table: a connection's passed, not-passed and
//! needs-attention tag names (docs/contract/results.md). A connection
//! without a row has the defaults; `None` turns a tag off.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::connection_outcomes;

pub const DEFAULT_PASSED: &str = "Arkiter Live: Passed";
pub const DEFAULT_NOT_PASSED: &str = "Arkiter Live: Not Passed";
pub const DEFAULT_NEEDS_ATTENTION: &str = "Arkiter Live: Needs Attention";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = connection_outcomes, check_for_backend(diesel::pg::Pg))]
pub struct OutcomeTags {
    pub tag_passed: Option<String>,
    pub tag_not_passed: Option<String>,
    pub tag_needs_attention: Option<String>,
}

impl Default for OutcomeTags {
    fn default() -> Self {
        Self {
            tag_passed: Some(DEFAULT_PASSED.to_owned()),
            tag_not_passed: Some(DEFAULT_NOT_PASSED.to_owned()),
            tag_needs_attention: Some(DEFAULT_NEEDS_ATTENTION.to_owned()),
        }
    }
}

impl OutcomeTags {
    /// The connection's tags (the defaults when it never changed them).
    pub fn load(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<OutcomeTags> {
        Ok(connection_outcomes::table
            .find(connection_id)
            .select(OutcomeTags::as_select())
            .first(conn)
            .optional()?
            .unwrap_or_default())
    }

    pub fn save(&self, conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<()> {
        diesel::insert_into(connection_outcomes::table)
            .values((
                connection_outcomes::connection_id.eq(connection_id),
                connection_outcomes::tag_passed.eq(&self.tag_passed),
                connection_outcomes::tag_not_passed.eq(&self.tag_not_passed),
                connection_outcomes::tag_needs_attention.eq(&self.tag_needs_attention),
            ))
            .on_conflict(connection_outcomes::connection_id)
            .do_update()
            .set((
                connection_outcomes::tag_passed.eq(&self.tag_passed),
                connection_outcomes::tag_not_passed.eq(&self.tag_not_passed),
                connection_outcomes::tag_needs_attention.eq(&self.tag_needs_attention),
            ))
            .execute(conn)
            .map(|_| ())
    }
}
