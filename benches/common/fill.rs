//! Fills an inbox-shaped table with delivery-like rows, as a month of real
//! traffic would leave it: random delivery tokens and opportunity ids (the
//! keys of the dedupe indexes), bodies the size of Lever's, time-ordered
//! ids, received over the last day, spread over the given connections.
//! Secondary indexes are dropped for the fill and built again after it from
//! their own definitions (a fill through them would take far longer), then
//! the table is vacuumed, analysed and checkpointed.

use std::time::Instant;

use diesel::PgConnection;

use super::Hook;
use super::bed::{exec, strings};

/// Rows per fill statement (progress is printed after each).
const CHUNK: i64 = 1_000_000;

/// Adds `rows` rows to `table` (`lever_events` or a copy of it), round
/// robin over `hooks`' connections, into each org's other stage (stored
/// `ignored`, as a delivery to a non-Arkiter stage is).
pub fn deliveries(conn: &mut PgConnection, table: &str, hooks: &[Hook], rows: i64) {
    if rows == 0 {
        return;
    }
    let started = Instant::now();
    rebuilding_indexes(conn, table, |conn| {
        fill_rows(conn, table, hooks, rows, started)
    });
    println!(
        "  {table}: {rows} rows and their indexes in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// Runs `fill` on `table` with its unique constraints and secondary indexes
/// dropped, then builds them again from their own definitions, vacuums,
/// analyses and checkpoints: a fill through the indexes would take far
/// longer.
pub fn rebuilding_indexes(
    conn: &mut PgConnection,
    table: &str,
    fill: impl FnOnce(&mut PgConnection),
) {
    exec(conn, "SET maintenance_work_mem = '1GB'");
    exec(conn, "SET synchronous_commit = off");
    let constraints = strings(
        conn,
        &format!(
            "SELECT 'ALTER TABLE {table} ADD CONSTRAINT ' || conname || ' ' \
             || pg_get_constraintdef(oid) AS s FROM pg_constraint \
             WHERE conrelid = '{table}'::regclass AND contype = 'u'"
        ),
    );
    let indexes = strings(
        conn,
        &format!(
            "SELECT indexdef AS s FROM pg_indexes WHERE tablename = '{table}' \
             AND indexname NOT IN (SELECT conname FROM pg_constraint \
               WHERE conrelid = '{table}'::regclass)"
        ),
    );
    for c in strings(
        conn,
        &format!(
            "SELECT conname AS s FROM pg_constraint WHERE conrelid = '{table}'::regclass AND contype = 'u'"
        ),
    ) {
        exec(conn, &format!("ALTER TABLE {table} DROP CONSTRAINT {c}"));
    }
    for i in strings(
        conn,
        &format!(
            "SELECT indexname AS s FROM pg_indexes WHERE tablename = '{table}' \
             AND indexname NOT IN (SELECT conname FROM pg_constraint \
               WHERE conrelid = '{table}'::regclass)"
        ),
    ) {
        exec(conn, &format!("DROP INDEX {i}"));
    }
    fill(conn);
    for sql in constraints.iter().chain(&indexes) {
        exec(conn, sql);
    }
    exec(conn, &format!("VACUUM ANALYZE {table}"));
    exec(conn, "CHECKPOINT");
    exec(conn, "SET synchronous_commit = on");
}

fn fill_rows(conn: &mut PgConnection, table: &str, hooks: &[Hook], rows: i64, started: Instant) {
    let pick = |f: &dyn Fn(&Hook) -> String| {
        let arms: String = hooks
            .iter()
            .enumerate()
            .map(|(n, h)| format!(" WHEN {n} THEN '{}'", f(h)))
            .collect();
        format!("CASE i % {}{arms} END", hooks.len())
    };
    let connection = pick(&|h| h.connection_id().to_owned());
    let org = pick(&|h| h.org.org.clone());
    let to_stage = pick(&|h| h.org.other_stage.clone());
    let from_stage = pick(&|h| h.org.start_stage.clone());
    let mut from = 1;
    while from <= rows {
        let to = (from + CHUNK - 1).min(rows);
        exec(
            conn,
            &format!(
                "INSERT INTO {table} (id, connection_id, org_id, event, token, triggered_at, \
                   opportunity_id, to_stage_id, from_stage_id, payload, status, reason, attempts, \
                   received_at, updated_at, next_attempt_at) \
                 SELECT (lpad(to_hex(k.ms), 12, '0') || '7' || substr(k.h, 1, 3) || '8' \
                         || substr(k.h, 4, 15))::uuid, \
                   ({connection})::uuid, ({org})::uuid, 'candidateStageChange', k.token, k.ms, \
                   k.opp, {to_stage}, {from_stage}, \
                   '{{\"event\":\"candidateStageChange\",\"triggeredAt\":' || k.ms \
                     || ',\"token\":\"' || k.token || '\",\"signature\":\"' || md5('s' || i) \
                     || md5('z' || i) || '\",\"data\":{{\"opportunityId\":\"' || k.opp \
                     || '\",\"candidateId\":\"' || k.opp || '\",\"contactId\":\"' \
                     || md5('c' || i)::uuid || '\",\"toStageId\":\"' || {to_stage} \
                     || '\",\"fromStageId\":\"' || {from_stage} || '\"}}}}', \
                   'ignored', 'other_stage', 0, k.at, k.at, k.at \
                 FROM generate_series({from}, {to}) i, LATERAL (SELECT \
                   md5('h' || i) AS h, \
                   md5('t' || i) || substr(md5('u' || i), 1, 16) AS token, \
                   md5('o' || i)::uuid::text AS opp, \
                   now() - interval '1 day' + (i::float8 / {rows}) * interval '1 day' AS at, \
                   (extract(epoch FROM now() - interval '1 day' \
                     + (i::float8 / {rows}) * interval '1 day') * 1000)::bigint AS ms) k"
            ),
        );
        println!(
            "  {table}: filled {to} rows ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
}
