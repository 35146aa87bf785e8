//! The `oauth_states` table: pending Lever authorisations. The state itself is
//! never stored, only its SHA-256; a state is single-use and short-lived.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::oauth_states;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_states, check_for_backend(diesel::pg::Pg))]
pub struct OAuthState {
    pub state_sha256: Vec<u8>,
    pub org_id: Uuid,
    pub connection_id: Uuid,
    pub stage_id: Option<String>,
    pub stage_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    /// Started from the console: the callback sends the browser back there.
    pub from_console: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = oauth_states)]
pub struct NewOAuthState<'a> {
    pub state_sha256: &'a [u8],
    pub org_id: Uuid,
    pub connection_id: Uuid,
    pub stage_id: Option<&'a str>,
    pub stage_name: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    pub from_console: bool,
}

impl OAuthState {
    pub fn insert(conn: &mut PgConnection, new: &NewOAuthState<'_>) -> QueryResult<usize> {
        // Old states are useless; clear them as new ones come.
        diesel::delete(oauth_states::table.filter(oauth_states::expires_at.lt(Utc::now())))
            .execute(conn)?;
        diesel::insert_into(oauth_states::table)
            .values(new)
            .execute(conn)
    }

    pub fn find(conn: &mut PgConnection, digest: &[u8]) -> QueryResult<Option<OAuthState>> {
        oauth_states::table
            .find(digest)
            .select(OAuthState::as_select())
            .first(conn)
            .optional()
    }

    /// Marks the state used; false if another request used it first.
    pub fn consume(conn: &mut PgConnection, digest: &[u8]) -> QueryResult<bool> {
        let n = diesel::update(
            oauth_states::table
                .find(digest)
                .filter(oauth_states::used_at.is_null()),
        )
        .set(oauth_states::used_at.eq(Utc::now()))
        .execute(conn)?;
        Ok(n == 1)
    }
}

/// Retention: deletes up to `limit` authorisations that expired before `cutoff`.
pub fn prune(c: &mut PgConnection, cutoff: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM oauth_states WHERE state_sha256 IN (SELECT state_sha256 FROM oauth_states \
         WHERE expires_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
}
