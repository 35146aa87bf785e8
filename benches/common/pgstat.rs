//! What the database did for a benchmark: commits, the CPU time of the
//! bench's Postgres (the postmaster and its backends) and of this process,
//! and pgbench's single-row insert rate as the yardstick for ingest.

use std::time::Duration;

use diesel::PgConnection;

use super::Bed;
use super::bed::{count, exec};

const PGBENCH: &str = "/usr/lib/postgresql/15/bin/pgbench";

/// Transactions committed in the bench database so far (all clients).
pub fn commits(conn: &mut diesel::PgConnection) -> i64 {
    count(
        conn,
        "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'bench'",
    )
}

/// The bench's Postgres server process (its backends are its children).
pub fn postmaster_pid(conn: &mut diesel::PgConnection) -> u32 {
    let backend = count(conn, "SELECT pg_backend_pid()::bigint AS n");
    proc_stat(backend as u32).expect("backend stat").0
}

/// `(parent pid, CPU ticks used)` of a process, from `/proc/<pid>/stat`:
/// its own, plus its children's that have exited and been waited for
/// (Postgres backends that are gone, pgbench's among them).
pub fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok());
    let ticks = field(11)? + field(12)? + field(13)? + field(14)?;
    Some((ppid, ticks))
}

/// CPU time used so far (clock ticks of 10 ms) by this process (the
/// service and the load generator) and by the bench's Postgres (the
/// postmaster and its live children): CPU per delivery is what other
/// engineers' builds on the shared machine disturb least.
pub struct Cpu {
    pub service: u64,
    pub postgres: u64,
    /// Live children of the postmaster.
    pub children: usize,
}

impl Cpu {
    pub fn now(postmaster: u32) -> Self {
        // This process's own time only: its waited-for children are pgbench.
        let service = own_ticks();
        let mut postgres = proc_stat(postmaster).map_or(0, |s| s.1);
        let mut children = 0;
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some((ppid, ticks)) = proc_stat(pid)
                && ppid == postmaster
            {
                postgres += ticks;
                children += 1;
            }
        }
        Self {
            service,
            postgres,
            children,
        }
    }

    /// CPU µs per delivery since `before`, over `n` deliveries.
    pub fn since(&self, before: &Cpu, n: usize) -> String {
        let us = |ticks: u64| ticks as f64 * 10_000.0 / n.max(1) as f64;
        format!(
            "CPU per delivery: service+load {:.1} us, postgres {:.1} us",
            us(self.service - before.service),
            us(self.postgres - before.postgres)
        )
    }
}

/// Creates `pgbench_deliveries`, a copy of `lever_events` (same columns
/// and indexes, no foreign keys), empty.
pub fn create_pgbench_table(conn: &mut PgConnection) {
    exec(
        conn,
        "CREATE TABLE pgbench_deliveries (LIKE lever_events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)",
    );
}

/// pgbench's tps, `clients` clients for `secs` seconds, each transaction
/// one durable single-row insert of a delivery-sized row into
/// `pgbench_deliveries` ([`create_pgbench_table`]).
pub fn pgbench(bed: &Bed, secs: u64, clients: usize) -> f64 {
    let mut conn = bed.db();
    let script = std::env::temp_dir().join(format!("p1-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, PGBENCH_SCRIPT).expect("write the pgbench script");
    let url = url::Url::parse(&bed.db_url).expect("db url");
    let postmaster = postmaster_pid(&mut conn);
    let (cpu0, client0) = (Cpu::now(postmaster), children_ticks());
    let out = std::process::Command::new(PGBENCH)
        .args(["-n", "-c"])
        .arg(clients.to_string())
        .args(["-j", "2", "-M", "prepared", "-T"])
        .arg(secs.to_string())
        .arg("-f")
        .arg(&script)
        .args(["-h", url.host_str().expect("host"), "-p"])
        .arg(url.port().expect("port").to_string())
        .args(["-U", url.username(), "bench"])
        .env("PGPASSWORD", url.password().expect("password"))
        .output()
        .expect("run pgbench");
    let _ = std::fs::remove_file(&script);
    // pgbench's backends exit after it does; their time reaches the
    // postmaster's child times once it has reaped them all.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut cpu1 = Cpu::now(postmaster);
    while cpu1.children > cpu0.children && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        cpu1 = Cpu::now(postmaster);
    }
    let client1 = children_ticks();
    let text = String::from_utf8_lossy(&out.stdout);
    print!("pgbench:\n{text}");
    // A client that failed stops for the rest of the run, so the tps of
    // an incomplete run is no yardstick.
    assert!(
        out.status.success(),
        "pgbench failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let processed: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let client = Cpu {
        service: client1,
        ..cpu1
    };
    let before = Cpu {
        service: client0,
        ..cpu0
    };
    println!(
        "  {} (\"service+load\" is pgbench itself)",
        client.since(&before, processed)
    );
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .expect("pgbench tps")
}

/// Waits until no autovacuum worker runs (at most `limit`): a vacuum of a
/// freshly filled table beside a measured phase would be measured with it.
pub fn wait_for_autovacuum(conn: &mut PgConnection, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline
        && super::bed::count(
            conn,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
        ) > 0
    {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The machine's CPU time so far, from `/proc/stat`: all of it, and the
/// part the hypervisor gave to other guests ("steal"). This machine is a
/// shared virtual one; a phase with much steal measured less than the
/// service can do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Machine {
    total: u64,
    steal: u64,
}

impl Machine {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        Self {
            total: ticks.iter().take(8).sum(),
            steal: ticks.get(7).copied().unwrap_or(0),
        }
    }

    /// Percent of the machine's CPU time stolen since `before`.
    pub fn steal_since(&self, before: &Machine) -> f64 {
        let total = self.total.saturating_sub(before.total).max(1);
        100.0 * self.steal.saturating_sub(before.steal) as f64 / total as f64
    }
}

/// CPU ticks used by this process itself (every thread).
pub fn own_ticks() -> u64 {
    rusage_ticks(libc::RUSAGE_SELF)
}

/// CPU ticks used by this process's waited-for children (pgbench).
pub fn children_ticks() -> u64 {
    rusage_ticks(libc::RUSAGE_CHILDREN)
}

pub fn rusage_ticks(who: libc::c_int) -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(usage.ru_utime) + us(usage.ru_stime)) / 10_000
}

/// One transaction = one row shaped like a live-stage delivery (about the
/// same bytes as the load generator's bodies), with a random token and a
/// random opportunity id (unique, as two moves never share both: a drawn
/// number would repeat, and a duplicate move aborts the client).
const PGBENCH_SCRIPT: &str = r#"\set n random(1, 1000000000)
INSERT INTO pgbench_deliveries (id, connection_id, org_id, event, token, triggered_at, opportunity_id, to_stage_id, from_stage_id, payload, status)
VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', 'candidateStageChange',
  md5(random()::text) || substr(md5(random()::text), 1, 16), 1764270000000 + :n, gen_random_uuid()::text, 'a5c7e2a8-93e1-4a5e-9a8e-6c54c2d2f0b1', '1c0a84d1-7f36-4f83-a0c2-4b8a2a0b5c3e',
  ('{"event":"candidateStageChange","triggeredAt":1764270000000,"token":"' || md5(random()::text) || '","signature":"' || md5(random()::text) || md5(random()::text) || '","data":{"opportunityId":"bench-opp-' || :n || '","candidateId":"bench-opp-' || :n || '","contactId":"bench-contact-' || :n || '","toStageId":"a5c7e2a8-93e1-4a5e-9a8e-6c54c2d2f0b1","fromStageId":"1c0a84d1-7f36-4f83-a0c2-4b8a2a0b5c3e"}}')::jsonb,
  'pending');
"#;
