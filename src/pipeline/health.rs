//! What the supervisor records for the health endpoint (SPEC §5): heartbeat,
//! last Lever success and error, throttling, and per-minute error counters.
//! The endpoint reads these rows; it never asks an actor.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use uuid::Uuid;

use crate::db::schema::connection_health as h;

/// The supervisor is alive (and which instance runs it).
pub fn heartbeat(
    conn: &mut PgConnection,
    id: Uuid,
    instance: &str,
    running: bool,
    restarts: i32,
) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::insert_into(h::table)
        .values((
            h::connection_id.eq(id),
            h::supervisor_running.eq(running),
            h::instance.eq(instance),
            h::heartbeat_at.eq(now),
            h::restarts.eq(restarts),
        ))
        .on_conflict(h::connection_id)
        .do_update()
        .set((
            h::supervisor_running.eq(excluded(h::supervisor_running)),
            h::instance.eq(excluded(h::instance)),
            h::heartbeat_at.eq(excluded(h::heartbeat_at)),
            h::restarts.eq(excluded(h::restarts)),
            h::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Lever answered this account's work.
pub fn success(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::insert_into(h::table)
        .values((h::connection_id.eq(id), h::last_success_at.eq(now)))
        .on_conflict(h::connection_id)
        .do_update()
        .set((
            h::last_success_at.eq(now),
            h::throttled_until.eq(None::<DateTime<Utc>>),
            h::updated_at.eq(now),
        ))
        .execute(conn)
}

/// A Lever error; `throttled_until` when the whole account pauses.
pub fn error(
    conn: &mut PgConnection,
    id: Uuid,
    message: &str,
    throttled_until: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    let now = Utc::now();
    diesel::insert_into(h::table)
        .values((
            h::connection_id.eq(id),
            h::last_error.eq(message),
            h::last_error_at.eq(now),
            h::throttled_until.eq(throttled_until),
        ))
        .on_conflict(h::connection_id)
        .do_update()
        .set((
            h::last_error.eq(message),
            h::last_error_at.eq(now),
            h::throttled_until.eq(throttled_until),
            h::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::db::models::health_record::bump_counter(conn, id, "lever_error")
}
