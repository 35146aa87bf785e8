//! The `connections` table: each org's link to one Lever account, with its
//! (encrypted) tokens, stage, tag names and status.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{connections, lever_webhooks};
use crate::domain::stages::{self, TriggerStage};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connections, check_for_backend(diesel::pg::Pg))]
pub struct Connection {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: crate::domain::status::ConnectionStatus,
    pub lever_account_id: Option<String>,
    pub stage_id: Option<String>,
    pub stage_name: String,
    pub stage_found: bool,
    pub tag_link_created: String,
    pub tag_completed: String,
    pub perform_as: Option<String>,
    pub access_token_enc: Option<Vec<u8>>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub token_state: crate::domain::status::TokenState,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub scopes: Option<String>,
    pub problems: serde_json::Value,
    pub connected_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub on_archive: crate::domain::status::LifecyclePolicy,
    pub on_hired: crate::domain::status::LifecyclePolicy,
    pub on_stage_exit: crate::domain::status::LifecyclePolicy,
    pub link_ttl_days: Option<i32>,
    /// `None`: the setting is off (no tag on a close).
    pub tag_closed: Option<String>,
    pub tag_expired: Option<String>,
    /// The trigger stages, `[{"id","name","found"}]` (see
    /// [`Connection::trigger_stages`]).
    pub stages: serde_json::Value,
}

impl Connection {
    /// The trigger stages, first the connection's `stage`.
    pub fn trigger_stages(&self) -> Vec<TriggerStage> {
        stages::from_stored(&self.stages, || TriggerStage {
            id: self.stage_id.clone(),
            name: self.stage_name.clone(),
            found: self.stage_found,
        })
    }

    /// The ids of the trigger stages (those known by id).
    pub fn trigger_stage_ids(&self) -> Vec<String> {
        stages::ids(&self.trigger_stages())
    }

    /// Whether `stage` is one of the trigger stages.
    pub fn is_trigger_stage(&self, stage: Option<&str>) -> bool {
        stage.is_some_and(|s| self.trigger_stage_ids().iter().any(|t| t == s))
    }
}

/// The Lever scope that lets the service read confidential candidates.
pub const CONFIDENTIAL_SCOPE: &str = "confidential:access:admin";
/// The Lever scope that tells a hire from another archive.
pub const ARCHIVE_REASONS_SCOPE: &str = "archive_reasons:read:admin";

impl Settings {
    /// The scopes these settings need beyond the core ones, each with
    /// what needs it (the `scope_missing` problem names both).
    pub fn scopes_needed(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.on_archive != self.on_hired {
            out.push((
                ARCHIVE_REASONS_SCOPE,
                "lifecycle.on_archive and on_hired differ, so a hire must be told from \
                 another archive",
            ));
        }
        out
    }
}

/// What an admin may change on a connection, besides its stage.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tag_link_created: String,
    pub tag_completed: String,
    pub tag_closed: Option<String>,
    pub tag_expired: Option<String>,
    pub perform_as: Option<String>,
    pub on_archive: crate::domain::status::LifecyclePolicy,
    pub on_hired: crate::domain::status::LifecyclePolicy,
    pub on_stage_exit: crate::domain::status::LifecyclePolicy,
    pub link_ttl_days: Option<i32>,
}

impl Connection {
    /// The grant holds `confidential:access:admin`: lists may ask for
    /// confidential candidates too.
    pub fn confidential_access(&self) -> bool {
        self.scopes
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|s| s == CONFIDENTIAL_SCOPE))
    }

    /// The settings as stored now.
    pub fn settings(&self) -> Settings {
        Settings {
            tag_link_created: self.tag_link_created.clone(),
            tag_completed: self.tag_completed.clone(),
            tag_closed: self.tag_closed.clone(),
            tag_expired: self.tag_expired.clone(),
            perform_as: self.perform_as.clone(),
            on_archive: self.on_archive,
            on_hired: self.on_hired,
            on_stage_exit: self.on_stage_exit,
            link_ttl_days: self.link_ttl_days,
        }
    }
}

impl Connection {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Connection> {
        connections::table
            .find(id)
            .select(Connection::as_select())
            .first(conn)
    }

    pub fn find_by_org(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<Option<Connection>> {
        connections::table
            .filter(connections::org_id.eq(org_id))
            .select(Connection::as_select())
            .first(conn)
            .optional()
    }

    /// Locks the row for a token refresh (one at a time across instances).
    /// `FOR NO KEY UPDATE`: foreign-key checks of inserts that reference the
    /// connection (events, jobs) do not wait for Lever's answer.
    pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Connection> {
        connections::table
            .find(id)
            .select(Connection::as_select())
            .for_no_key_update()
            .first(conn)
    }

    /// The org's connection, created `pending` if it has none yet.
    pub fn get_or_create(conn: &mut PgConnection, org_id: Uuid) -> QueryResult<Connection> {
        diesel::insert_into(connections::table)
            .values((
                connections::id.eq(Uuid::new_v4()),
                connections::org_id.eq(org_id),
            ))
            .on_conflict(connections::org_id)
            .do_nothing()
            .execute(conn)?;
        connections::table
            .filter(connections::org_id.eq(org_id))
            .select(Connection::as_select())
            .first(conn)
    }

    /// Every connection's id (each instance's roster of known ids).
    pub fn all_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
        connections::table.select(connections::id).load(conn)
    }

    /// Connections whose work should run (not disconnected, holding tokens).
    pub fn workable_ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
        connections::table
            .filter(connections::status.eq_any(crate::domain::status::ConnectionStatus::RUNNING))
            .select(connections::id)
            .load(conn)
    }
}

/// A problem shown to the admin: `{"code","message"}`.
pub fn problem(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "code": code, "message": message })
}

impl Connection {
    /// Stores a refreshed grant (the caller holds the row lock).
    pub fn store_tokens(
        conn: &mut PgConnection,
        id: Uuid,
        access_enc: &[u8],
        refresh_enc: Option<&[u8]>,
        expires_at: DateTime<Utc>,
    ) -> QueryResult<usize> {
        let now = Utc::now();
        let target = connections::table.find(id);
        if let Some(r) = refresh_enc {
            diesel::update(target)
                .set(connections::refresh_token_enc.eq(r))
                .execute(conn)?;
        }
        diesel::update(target)
            .set((
                connections::access_token_enc.eq(access_enc),
                connections::token_expires_at.eq(expires_at),
                connections::token_state.eq(crate::domain::status::TokenState::Valid),
                connections::last_refreshed_at.eq(now),
                connections::refreshing_until.eq(None::<DateTime<Utc>>),
                connections::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// Marks the row as being refreshed by the caller for `hold` (no other
    /// instance starts a refresh meanwhile) and returns it: `Ok` if the mark
    /// is the caller's, `Err` with the row as it is if another refresh
    /// holds a mark that has not run out.
    pub fn mark_refreshing(
        conn: &mut PgConnection,
        id: Uuid,
        hold: std::time::Duration,
    ) -> QueryResult<Result<Connection, Connection>> {
        use crate::domain::status::TokenState;
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(hold).unwrap_or_default();
        let marked = diesel::update(
            connections::table.find(id).filter(
                connections::refreshing_until
                    .is_null()
                    .or(connections::refreshing_until.lt(now)),
            ),
        )
        .set(connections::refreshing_until.eq(until))
        .returning(Connection::as_returning())
        .get_result(conn)
        .optional()?;
        match marked {
            Some(mut row) => {
                if row.token_state == TokenState::Valid {
                    diesel::update(connections::table.find(id))
                        .set(connections::token_state.eq(TokenState::Refreshing))
                        .execute(conn)?;
                    row.token_state = TokenState::Refreshing;
                }
                Ok(Ok(row))
            }
            None => Ok(Err(Self::find(conn, id)?)),
        }
    }

    /// Marks the connection's webhooks as being replaced at Lever by the
    /// caller for `hold`. `false`: another instance's mark has not run out.
    pub fn mark_webhook_setup(
        conn: &mut PgConnection,
        id: Uuid,
        hold: std::time::Duration,
    ) -> QueryResult<bool> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(hold).unwrap_or_default();
        let marked = diesel::update(
            connections::table.find(id).filter(
                connections::webhooks_setup_until
                    .is_null()
                    .or(connections::webhooks_setup_until.lt(now)),
            ),
        )
        .set(connections::webhooks_setup_until.eq(until))
        .execute(conn)?;
        Ok(marked == 1)
    }

    /// Clears the caller's webhook-setup mark.
    pub fn unmark_webhook_setup(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::update(connections::table.find(id))
            .set(connections::webhooks_setup_until.eq(None::<DateTime<Utc>>))
            .execute(conn)
    }

    /// Clears a refresh's mark when it ended without a new grant.
    pub fn unmark_refreshing(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
        use crate::domain::status::TokenState;
        diesel::update(
            connections::table
                .find(id)
                .filter(connections::token_state.eq(TokenState::Refreshing)),
        )
        .set(connections::token_state.eq(TokenState::Valid))
        .execute(conn)?;
        diesel::update(connections::table.find(id))
            .set(connections::refreshing_until.eq(None::<DateTime<Utc>>))
            .execute(conn)
    }

    /// Lever refused the grant: the connection waits for an admin to reconnect.
    /// Its jobs are kept (they pause, they are not failed).
    pub fn mark_needs_reauth(
        conn: &mut PgConnection,
        id: Uuid,
        reason: &str,
    ) -> QueryResult<usize> {
        let message = format!(
            "Lever no longer accepts this connection's authorisation ({reason}). \
             An org admin must connect again; pending work resumes after that."
        );
        diesel::update(
            connections::table.find(id).filter(
                connections::status.ne(crate::domain::status::ConnectionStatus::Disconnected),
            ),
        )
        .set((
            connections::status.eq(crate::domain::status::ConnectionStatus::NeedsReauth),
            connections::token_state.eq(crate::domain::status::TokenState::Invalid),
            connections::refreshing_until.eq(None::<DateTime<Utc>>),
            connections::problems.eq(serde_json::json!([problem("token_revoked", &message)])),
            connections::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
    }
}

/// What a completed authorisation stores on the connection.
pub struct Authorised<'a> {
    pub lever_account_id: Option<&'a str>,
    pub access_enc: Vec<u8>,
    pub refresh_enc: Option<Vec<u8>>,
    pub expires_at: DateTime<Utc>,
    pub scopes: Option<&'a str>,
    pub setup: &'a SetupState,
}

/// The stage and status that setup against Lever came to.
#[derive(Debug, Clone)]
pub struct SetupState {
    /// Every trigger stage; the first is also the `stage` columns'.
    pub stages: Vec<TriggerStage>,
    pub status: crate::domain::status::ConnectionStatus,
    pub problems: serde_json::Value,
}

impl Connection {
    /// Another org's connection already holding this Lever account, if any.
    pub fn holder_of_account(
        conn: &mut PgConnection,
        account: &str,
        except_org: Uuid,
    ) -> QueryResult<Option<Connection>> {
        connections::table
            .filter(connections::lever_account_id.eq(account))
            .filter(connections::org_id.ne(except_org))
            .select(Connection::as_select())
            .first(conn)
            .optional()
    }

    pub fn store_authorisation(
        conn: &mut PgConnection,
        id: Uuid,
        a: &Authorised<'_>,
    ) -> QueryResult<usize> {
        let now = Utc::now();
        diesel::update(connections::table.find(id))
            .set((
                connections::lever_account_id.eq(a.lever_account_id),
                connections::access_token_enc.eq(&a.access_enc),
                connections::refresh_token_enc.eq(a.refresh_enc.as_deref()),
                connections::token_expires_at.eq(a.expires_at),
                connections::token_state.eq(crate::domain::status::TokenState::Valid),
                connections::last_refreshed_at.eq(now),
                connections::scopes.eq(a.scopes),
                connections::connected_at.eq(now),
                connections::updated_at.eq(now),
            ))
            .execute(conn)?;
        Self::store_setup(conn, id, a.setup)
    }

    pub fn store_setup(conn: &mut PgConnection, id: Uuid, s: &SetupState) -> QueryResult<usize> {
        let first = s.stages.first();
        let list = serde_json::to_value(&s.stages).unwrap_or_default();
        diesel::update(connections::table.find(id))
            .set((
                connections::stage_id.eq(first.and_then(|f| f.id.as_deref())),
                connections::stage_name.eq(first.map(|f| f.name.as_str()).unwrap_or_default()),
                connections::stage_found.eq(first.is_some_and(|f| f.found)),
                connections::stages.eq(list),
                connections::status.eq(s.status),
                connections::problems.eq(&s.problems),
                connections::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
    }

    /// Stores the settings an admin may change (all at once: the service
    /// merges a patch into the current values first).
    pub fn set_settings(conn: &mut PgConnection, id: Uuid, s: &Settings) -> QueryResult<usize> {
        diesel::update(connections::table.find(id))
            .set((
                connections::tag_link_created.eq(&s.tag_link_created),
                connections::tag_completed.eq(&s.tag_completed),
                connections::tag_closed.eq(&s.tag_closed),
                connections::tag_expired.eq(&s.tag_expired),
                connections::perform_as.eq(&s.perform_as),
                connections::on_archive.eq(s.on_archive),
                connections::on_hired.eq(s.on_hired),
                connections::on_stage_exit.eq(s.on_stage_exit),
                connections::link_ttl_days.eq(s.link_ttl_days),
                connections::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
    }

    /// Forgets the OAuth tokens; keeps signature tokens, events and jobs.
    pub fn disconnect(
        conn: &mut PgConnection,
        id: Uuid,
        problems: &serde_json::Value,
    ) -> QueryResult<usize> {
        diesel::update(connections::table.find(id))
            .set((
                connections::status.eq(crate::domain::status::ConnectionStatus::Disconnected),
                connections::access_token_enc.eq(None::<Vec<u8>>),
                connections::refresh_token_enc.eq(None::<Vec<u8>>),
                connections::token_expires_at.eq(None::<DateTime<Utc>>),
                connections::token_state.eq(crate::domain::status::TokenState::Invalid),
                connections::problems.eq(problems),
                connections::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
    }
}

/// A connection's webhook as the admin sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lever_webhooks, check_for_backend(diesel::pg::Pg))]
pub struct WebhookRow {
    pub id: Uuid,
    /// The Lever event it delivers.
    pub event: String,
    pub lever_webhook_id: Option<String>,
    pub managed: bool,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Writes to a connection's webhooks made by connecting and settings.
pub mod webhooks {
    use super::*;

    /// Live webhooks, managed first, newest first.
    pub fn live(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<Vec<WebhookRow>> {
        lever_webhooks::table
            .filter(lever_webhooks::connection_id.eq(connection_id))
            .filter(lever_webhooks::deleted_at.is_null())
            .order((
                lever_webhooks::managed.desc(),
                lever_webhooks::created_at.desc(),
            ))
            .select(WebhookRow::as_select())
            .load(conn)
    }

    /// The Lever ids of every webhook of the connection whose signature
    /// token is stored, retired ones included.
    pub fn known_lever_ids(
        conn: &mut PgConnection,
        connection_id: Uuid,
    ) -> QueryResult<Vec<String>> {
        lever_webhooks::table
            .filter(lever_webhooks::connection_id.eq(connection_id))
            .filter(lever_webhooks::lever_webhook_id.is_not_null())
            .select(lever_webhooks::lever_webhook_id.assume_not_null())
            .load(conn)
    }

    /// Marks managed webhooks gone from Lever. Their signature tokens are
    /// kept: late deliveries and Lever's "Rerun" still verify.
    pub fn retire_managed(conn: &mut PgConnection, connection_id: Uuid) -> QueryResult<usize> {
        diesel::update(
            lever_webhooks::table
                .filter(lever_webhooks::connection_id.eq(connection_id))
                .filter(lever_webhooks::managed.eq(true))
                .filter(lever_webhooks::deleted_at.is_null()),
        )
        .set(lever_webhooks::deleted_at.eq(Utc::now()))
        .execute(conn)
    }

    pub fn insert(
        conn: &mut PgConnection,
        connection_id: Uuid,
        lever_webhook_id: Option<&str>,
        event: &str,
        url: &str,
        managed: bool,
        signature_token_enc: &[u8],
    ) -> QueryResult<usize> {
        diesel::insert_into(lever_webhooks::table)
            .values((
                lever_webhooks::id.eq(Uuid::new_v4()),
                lever_webhooks::event.eq(event),
                lever_webhooks::connection_id.eq(connection_id),
                lever_webhooks::lever_webhook_id.eq(lever_webhook_id),
                lever_webhooks::url.eq(url),
                lever_webhooks::managed.eq(managed),
                lever_webhooks::signature_token_enc.eq(signature_token_enc),
            ))
            .execute(conn)
    }
}

/// Retention: deletes up to `limit` webhooks (and so their signature tokens)
/// deleted before `cutoff`. Deleted webhooks are kept a while because Lever
/// retries a delivery, and a Rerun resends it, signed with the token of the
/// webhook that first sent it.
pub fn prune_deleted_webhooks(
    c: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM lever_webhooks WHERE id IN (SELECT id FROM lever_webhooks \
         WHERE deleted_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
}
