//! Reads of the `lever_webhooks` table for webhook ingest: everything needed
//! to verify and route one delivery, in one round trip per cache miss.
//! (Writes to the table belong to the connect flow, `connection::webhooks`.)

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{connections, lever_webhooks};

/// The parts of a connection that ingest needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connections, check_for_backend(diesel::pg::Pg))]
pub struct IngestConnection {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: crate::domain::status::ConnectionStatus,
    pub stage_id: Option<String>,
    /// Whether a move out of the stage is stored to be worked.
    pub on_stage_exit: crate::domain::status::LifecyclePolicy,
    /// Every trigger stage (`connections.stages`).
    pub stages: serde_json::Value,
}

impl IngestConnection {
    /// The trigger stages' ids (the one `stage_id` for a list never set).
    pub fn trigger_stage_ids(&self) -> Vec<String> {
        let single = || crate::domain::stages::TriggerStage {
            id: self.stage_id.clone(),
            name: String::new(),
            found: true,
        };
        crate::domain::stages::ids(&crate::domain::stages::from_stored(&self.stages, single))
    }
}

/// The connection and the sealed signature tokens of ALL its webhooks,
/// soft-deleted ones included (late deliveries and Lever's "Rerun" from a
/// replaced webhook must still verify). `None` for an unknown connection.
pub fn ingest_view(
    conn: &mut PgConnection,
    connection_id: Uuid,
) -> QueryResult<Option<(IngestConnection, Vec<Vec<u8>>)>> {
    let Some(found) = connections::table
        .find(connection_id)
        .select(IngestConnection::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let sealed = lever_webhooks::table
        .filter(lever_webhooks::connection_id.eq(connection_id))
        // Newest first: the current webhook's token is the likeliest match.
        .order(lever_webhooks::created_at.desc())
        .select(lever_webhooks::signature_token_enc)
        .load(conn)?;
    Ok(Some((found, sealed)))
}
