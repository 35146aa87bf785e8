//! Embedded migrations, applied under a Postgres advisory lock so that
//! instances starting together do not race.

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::{ExposeSecret, SecretString};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary constant naming "arkiter-lever migrations" in pg_advisory_lock's key space.
const MIGRATION_LOCK_KEY: i64 = 0x4152_4b4c_4d49_4752;

/// Connects and applies every pending migration; returns how many ran.
pub fn run_pending(url: &SecretString) -> anyhow::Result<usize> {
    let mut conn = PgConnection::establish(url.expose_secret())
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    run_pending_on(&mut conn)
}

/// How often an instance waiting for another's migrations tries the lock.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Applies pending migrations on `conn`, holding the advisory lock meanwhile.
///
/// The lock is tried, not waited for: a session blocked in
/// `pg_advisory_lock` holds a snapshot all the while, and `CREATE INDEX
/// CONCURRENTLY` in the holder's migration waits for every such snapshot
/// to end, which would be a deadlock.
pub fn run_pending_on(conn: &mut PgConnection) -> anyhow::Result<usize> {
    while !diesel::sql_query(format!(
        "SELECT pg_try_advisory_lock({MIGRATION_LOCK_KEY}) AS locked"
    ))
    .get_result::<Locked>(conn)?
    .locked
    {
        std::thread::sleep(LOCK_RETRY);
    }
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(conn)?;
    result
}

/// Reverts every applied migration (tests check that each `down.sql` works).
pub fn revert_all(conn: &mut PgConnection) -> anyhow::Result<usize> {
    conn.revert_all_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| anyhow::anyhow!("revert failed: {e}"))
}
