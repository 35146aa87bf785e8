//! The lease rows: instance heartbeats, renewing, releasing and taking leases
//! (fairly spread: no instance holds more than its share while others are
//! alive), and the fencing check every worker write runs first.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::domain::status::{ConnectionStatus, in_list};

/// A lease this instance holds.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Held {
    #[diesel(sql_type = SqlUuid)]
    pub connection_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub epoch: i64,
    /// Set when the lease was just taken from a holder that took no claims
    /// (an instance of the previous version): until then, a write it had in
    /// flight may still land, so nothing is done for the account.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub hold_off_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when the lease was just taken from another instance that still
    /// held it (it stopped renewing: it died or stalled); its id.
    #[diesel(sql_type = Nullable<Text>)]
    pub taken_from: Option<String>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// Records this instance as alive; returns how many instances are alive.
pub fn heartbeat(
    conn: &mut PgConnection,
    me: &str,
    lease: std::time::Duration,
) -> QueryResult<i64> {
    diesel::sql_query(
        "INSERT INTO instances (id, heartbeat_at) VALUES ($1, now()) \
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), taken_over_at = NULL",
    )
    .bind::<Text, _>(me)
    .execute(conn)?;
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM instances WHERE heartbeat_at > now() - make_interval(secs => $1)",
    )
    .bind::<diesel::sql_types::Double, _>(secs(lease))
    .get_result(conn)?;
    Ok(c.n)
}

/// How many connections should be worked on (each has its lease row from
/// its creation: a trigger, migration `000004`).
pub fn workable(conn: &mut PgConnection) -> QueryResult<i64> {
    let c: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM connections WHERE status IN ({})",
        running()
    ))
    .get_result(conn)?;
    Ok(c.n)
}

/// Extends every lease this instance still owns; returns them.
#[tracing::instrument(level = "debug", skip_all)]
pub fn renew(
    conn: &mut PgConnection,
    me: &str,
    lease: std::time::Duration,
) -> QueryResult<Vec<Held>> {
    diesel::sql_query(format!(
        "UPDATE connection_leases l SET expires_at = now() + make_interval(secs => $2), \
         claims_epoch = l.epoch \
         FROM connections c WHERE c.id = l.connection_id AND l.owner = $1 \
         AND c.status IN ({}) \
         RETURNING l.connection_id, l.epoch, NULL::timestamptz AS hold_off_until, \
         NULL::text AS taken_from",
        running()
    ))
    .bind::<Text, _>(me)
    .bind::<diesel::sql_types::Double, _>(secs(lease))
    .load(conn)
}

/// Gives leases up: no longer ours (our late writes are refused at once), and
/// free for another instance once `grace` has passed, so that requests this
/// one has in flight land first.
#[tracing::instrument(level = "debug", skip_all)]
pub fn release(
    conn: &mut PgConnection,
    me: &str,
    ids: &[Uuid],
    grace: std::time::Duration,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE connection_leases SET owner = NULL, \
         expires_at = LEAST(expires_at, now() + make_interval(secs => $3)) \
         WHERE owner = $1 AND connection_id = ANY($2)",
    )
    .bind::<Text, _>(me)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .bind::<diesel::sql_types::Double, _>(secs(grace))
    .execute(conn)
}

/// Gives every lease up at once (graceful shutdown, after the work
/// drained); how many it held.
pub fn release_all(conn: &mut PgConnection, me: &str) -> QueryResult<usize> {
    let released = diesel::sql_query(
        "UPDATE connection_leases SET owner = NULL, expires_at = now() WHERE owner = $1",
    )
    .bind::<Text, _>(me)
    .execute(conn)?;
    diesel::sql_query("DELETE FROM instances WHERE id = $1")
        .bind::<Text, _>(me)
        .execute(conn)?;
    Ok(released)
}

/// Takes up to `n` free or expired leases, bumping their epoch (fencing
/// whoever held them before) and marking them as held by an instance that
/// takes claims. A lease last held by one that took none (the previous
/// version, during a rolling deploy) comes with `hold_off_until`: its
/// expiry plus `write_lands_within`, the longest a write it sent before
/// then may take to land.
#[tracing::instrument(level = "debug", skip_all)]
pub fn acquire(
    conn: &mut PgConnection,
    me: &str,
    n: i64,
    lease: std::time::Duration,
    write_lands_within: std::time::Duration,
) -> QueryResult<Vec<Held>> {
    if n <= 0 {
        return Ok(Vec::new());
    }
    diesel::sql_query(format!(
        "UPDATE connection_leases l SET owner = $1, epoch = l.epoch + 1, \
         claims_epoch = l.epoch + 1, expires_at = now() + make_interval(secs => $3) \
         FROM ( \
           SELECT f.connection_id, f.epoch AS old_epoch, f.claims_epoch AS old_claims, \
                  f.expires_at AS old_expires, f.owner AS old_owner \
           FROM connection_leases f \
           JOIN connections c ON c.id = f.connection_id \
           WHERE f.expires_at < now() AND c.status IN ({}) \
           ORDER BY f.connection_id LIMIT $2 FOR UPDATE OF f SKIP LOCKED) o \
         WHERE l.connection_id = o.connection_id \
         RETURNING l.connection_id, l.epoch, \
           CASE WHEN o.old_epoch > 0 AND o.old_claims <> o.old_epoch \
                THEN o.old_expires + make_interval(secs => $4) END AS hold_off_until, \
           CASE WHEN o.old_owner <> $1 THEN o.old_owner END AS taken_from",
        running()
    ))
    .bind::<Text, _>(me)
    .bind::<BigInt, _>(n)
    .bind::<diesel::sql_types::Double, _>(secs(lease))
    .bind::<diesel::sql_types::Double, _>(secs(write_lands_within))
    .load(conn)
}

#[derive(QueryableByName)]
struct Valid {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

/// The fencing check: true if `owner` still holds the lease at `epoch`. The
/// row is locked `FOR KEY SHARE` until the caller's transaction ends. A
/// takeover ([`acquire`]) locks rows `FOR UPDATE`, which conflicts with it,
/// so it never proceeds while a write that passed the check is in flight;
/// renewals and releases only update non-key columns (`FOR NO KEY UPDATE`),
/// which does not, so an account's writes and its owner's renewal of all
/// its leases never wait on each other.
pub fn still_held(
    conn: &mut PgConnection,
    connection_id: Uuid,
    owner: &str,
    epoch: i64,
) -> QueryResult<bool> {
    let v: Option<Valid> = diesel::sql_query(
        "SELECT true AS ok FROM connection_leases \
         WHERE connection_id = $1 AND owner = $2 AND epoch = $3 FOR KEY SHARE",
    )
    .bind::<SqlUuid, _>(connection_id)
    .bind::<Text, _>(owner)
    .bind::<BigInt, _>(epoch)
    .get_result(conn)
    .optional()?;
    Ok(v.is_some_and(|v| v.ok))
}

/// The statuses whose accounts are worked, spelled for SQL.
fn running() -> String {
    in_list(ConnectionStatus::RUNNING, ConnectionStatus::as_str)
}

/// Marks instance `dead` as taken over, once until it heartbeats again;
/// when this call marked it, how many leases it still holds.
pub fn mark_taken_over(conn: &mut PgConnection, dead: &str) -> QueryResult<Option<i64>> {
    let marked = diesel::sql_query(
        "UPDATE instances SET taken_over_at = now() WHERE id = $1 AND taken_over_at IS NULL",
    )
    .bind::<Text, _>(dead)
    .execute(conn)?;
    if marked == 0 {
        return Ok(None);
    }
    let c: Count =
        diesel::sql_query("SELECT count(*) AS n FROM connection_leases WHERE owner = $1")
            .bind::<Text, _>(dead)
            .get_result(conn)?;
    Ok(Some(c.n))
}

/// Retention: deletes up to `limit` rows of instances whose last heartbeat
/// was before `cutoff` (each crash leaves one behind).
pub fn prune_instances(
    c: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<usize> {
    super::prune::delete_batch(
        c,
        "DELETE FROM instances WHERE id IN (SELECT id FROM instances \
         WHERE heartbeat_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
}
