//! What a connection's setup checklist is made of (docs/contract/http-api.md,
//! "checklist"): one read over the tables that already hold each fact. A
//! step that "stays done" reads something that is never undone (the last
//! delivery's time, an interview whose link was posted).

use diesel::prelude::*;
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use uuid::Uuid;

/// The facts behind the steps that are not on the connection row itself.
#[derive(Debug, Clone, Copy, Default, QueryableByName)]
pub struct ChecklistFacts {
    /// A verified delivery ever arrived (Lever's Test ping counts).
    #[diesel(sql_type = Bool)]
    pub delivery_received: bool,
    /// The org has a role.
    #[diesel(sql_type = Bool)]
    pub role_exists: bool,
    /// Some role maps a job title, posting id or posting tag.
    #[diesel(sql_type = Bool)]
    pub has_mapping: bool,
    /// A posting got the fallback or oldest role in the last 7 days.
    #[diesel(sql_type = Bool)]
    pub unmapped_recently: bool,
    /// A link was ever posted for the connection.
    #[diesel(sql_type = Bool)]
    pub first_link: bool,
    /// The last sweep found the delivering webhook missing (manual mode).
    #[diesel(sql_type = Bool)]
    pub webhook_missing: bool,
}

pub fn facts(
    conn: &mut PgConnection,
    org_id: Uuid,
    connection_id: Uuid,
) -> QueryResult<ChecklistFacts> {
    diesel::sql_query(
        "SELECT \
           EXISTS (SELECT 1 FROM connection_health h WHERE h.connection_id = $2 \
                   AND h.last_received_at IS NOT NULL) AS delivery_received, \
           EXISTS (SELECT 1 FROM roles r WHERE r.org_id = $1) AS role_exists, \
           (EXISTS (SELECT 1 FROM role_ats_jobs j WHERE j.org_id = $1) \
            OR EXISTS (SELECT 1 FROM role_ats_tags t WHERE t.org_id = $1)) AS has_mapping, \
           EXISTS (SELECT 1 FROM interviews i WHERE i.org_id = $1 AND i.connection_id = $2 \
                   AND i.rule IN ('fallback', 'any') \
                   AND i.created_at > now() - interval '7 days') AS unmapped_recently, \
           EXISTS (SELECT 1 FROM interviews i WHERE i.org_id = $1 AND i.connection_id = $2 \
                   AND i.link_posted_at IS NOT NULL) AS first_link, \
           EXISTS (SELECT 1 FROM connection_sweeps s WHERE s.connection_id = $2 \
                   AND s.webhook_missing_url IS NOT NULL) AS webhook_missing",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(connection_id)
    .get_result(conn)
}
