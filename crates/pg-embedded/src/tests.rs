//! These tests really run PostgreSQL. Each checks that nothing is left behind.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use diesel::dsl::sql;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, RunQueryDsl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, User, geteuid, getpgid};

use super::files::{DataDirLock, random_hex};
use super::layout::TempRoot;
use super::pidfile::{self, is_alive};
use super::{EmbeddedError, EmbeddedPostgres, cluster, server, supervise};

const HELPER_ENV: &str = "ARKITER_EMBEDDED_TEST_HELPER";
const HELPER_DATA_DIR_ENV: &str = "ARKITER_EMBEDDED_TEST_DATA_DIR";

fn connect(pg: &EmbeddedPostgres) -> PgConnection {
    PgConnection::establish(&pg.database_url("arkiter")).unwrap()
}

fn setting(conn: &mut PgConnection, name: &str) -> String {
    diesel::select(sql::<Text>(&format!("current_setting('{name}')")))
        .get_result(conn)
        .unwrap()
}

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!("({query})")))
        .get_result(conn)
        .unwrap()
}

fn postgres_uid() -> u32 {
    User::from_name("postgres").unwrap().unwrap().uid.as_raw()
}

fn wait_until_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while is_alive(pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    !is_alive(pid)
}

/// A data directory under $HOME (as root that is /root, mode 0700: the trap
/// this module works around), with a path too long for a Unix socket.
/// Removes itself and the cluster its pointer file names.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> Self {
        let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
        let long = "a-directory-name-long-enough-that-no-unix-socket-path-could-live-in-it";
        let dir = home
            .join(format!(".arkiter-embedded-test-{name}-{}", random_hex(4)))
            .join(long);
        assert!(dir.as_os_str().len() > 107);
        Self(dir)
    }

    fn cluster_home(&self) -> Option<PathBuf> {
        let pointer = fs::read_to_string(self.0.join("postgres.location")).ok()?;
        Some(Path::new(pointer.trim_end()).parent()?.to_path_buf())
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(home) = self.cluster_home() {
            let _ = fs::remove_dir_all(home);
        }
        if let Some(test_root) = self.0.parent() {
            let _ = fs::remove_dir_all(test_root);
        }
    }
}

fn stop_and_check_gone(mut pg: EmbeddedPostgres) {
    let pid = pg.pid();
    pg.stop().unwrap();
    assert!(!is_alive(pid), "postgres {pid} still running after stop");
    pg.stop().unwrap(); // idempotent
}

#[test]
fn temporary_cluster_serves_and_is_removed_on_stop() {
    let pg = EmbeddedPostgres::start_temporary().unwrap();
    let root = pg.cluster.pgdata.parent().unwrap().to_path_buf();
    let mut conn = connect(&pg);
    assert_eq!(count(&mut conn, "SELECT 1::bigint"), 1);
    assert_eq!(setting(&mut conn, "fsync"), "off");
    assert_eq!(setting(&mut conn, "max_connections"), "200");
    assert_eq!(setting(&mut conn, "unix_socket_directories"), "");
    // Its own process group: Ctrl-C at the terminal does not reach it.
    let pid = Pid::from_raw(pg.pid() as i32);
    assert_eq!(getpgid(Some(pid)).unwrap(), pid);
    if geteuid().is_root() {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(uid_line.contains(&postgres_uid().to_string()), "{uid_line}");
        let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
        assert_eq!(groups.trim_end(), "Groups:", "root's groups leaked");
        assert_eq!(fs::metadata(&root).unwrap().uid(), postgres_uid());
    }
    assert!(!format!("{pg:?}").contains(&pg.cluster.password));
    drop(conn);
    stop_and_check_gone(pg);
    assert!(
        !root.exists(),
        "temporary cluster {} left behind",
        root.display()
    );
}

#[test]
fn persistent_cluster_keeps_data_across_restarts() {
    let dir = DataDir::new("persistent");
    let pg = EmbeddedPostgres::start_persistent(&dir.0).unwrap();
    let mut conn = connect(&pg);
    assert_eq!(setting(&mut conn, "fsync"), "on");
    assert_eq!(setting(&mut conn, "max_connections"), "200");
    diesel::sql_query("CREATE TABLE kept (note text)")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("INSERT INTO kept VALUES ('hello')")
        .execute(&mut conn)
        .unwrap();
    drop(conn);

    // A second service on the same data directory is refused, and does not
    // mistake the running server for an orphan.
    let second = EmbeddedPostgres::start_persistent(&dir.0).unwrap_err();
    assert!(matches!(second, EmbeddedError::InUse { .. }), "{second}");
    assert!(is_alive(pg.pid()));
    check_layout_and_secrets(&dir, &pg);
    stop_and_check_gone(pg);

    let pg = EmbeddedPostgres::start_persistent(&dir.0).unwrap();
    let mut conn = connect(&pg);
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM kept WHERE note = 'hello'"),
        1
    );
    drop(conn);
    stop_and_check_gone(pg);
}

fn check_layout_and_secrets(dir: &DataDir, pg: &EmbeddedPostgres) {
    let data_dir = fs::canonicalize(&dir.0).unwrap();
    let password = data_dir.join("postgres.password");
    let meta = fs::metadata(&password).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), geteuid().as_raw());
    let leftovers: Vec<_> = fs::read_dir(pg.cluster.pgdata.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("initdb-pw"))
        .collect();
    assert!(leftovers.is_empty(), "initdb password file left behind");
    let hba = fs::read_to_string(pg.cluster.pgdata.join("pg_hba.conf")).unwrap();
    let rules: Vec<_> = hba
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(
        rules.iter().all(|l| l.ends_with("scram-sha-256")),
        "{rules:?}"
    );
    if geteuid().is_root() {
        let home = dir.cluster_home().expect("pointer file names the cluster");
        assert!(!home.starts_with(&data_dir));
        assert_eq!(home.join("pg"), pg.cluster.pgdata);
        assert_eq!(fs::metadata(&home).unwrap().uid(), postgres_uid());
        assert_eq!(
            fs::metadata(&pg.cluster.pgdata).unwrap().uid(),
            postgres_uid()
        );
    } else {
        assert_eq!(pg.cluster.pgdata, data_dir.join("pg"));
    }
}

#[test]
fn orphaned_server_of_a_killed_run_is_replaced() {
    let dir = DataDir::new("orphan");
    let mut pg = EmbeddedPostgres::start_persistent(&dir.0).unwrap();
    let mut conn = connect(&pg);
    diesel::sql_query("CREATE TABLE kept (note text)")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("INSERT INTO kept VALUES ('survives')")
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    let old_pid = pg.pid();
    // What kill -9 of the service does: the kernel releases its lock, nothing
    // else runs, the server keeps going.
    pg.lock = None;
    std::mem::forget(pg);
    assert!(is_alive(old_pid));

    let pg = EmbeddedPostgres::start_persistent(&dir.0).unwrap();
    assert!(!is_alive(old_pid), "the orphan {old_pid} is still running");
    assert_ne!(pg.pid(), old_pid);
    let mut conn = connect(&pg);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM kept WHERE note = 'survives'"
        ),
        1
    );
    drop(conn);
    stop_and_check_gone(pg);
}

#[test]
fn stale_pidfile_naming_another_process_is_removed() {
    let root = TempRoot::create(None).unwrap();
    let pidfile = root.path().join("postmaster.pid");
    // Our own pid: alive, but not a postmaster.
    fs::write(&pidfile, format!("{}\n/x\n", std::process::id())).unwrap();
    pidfile::stop_leftover_server(root.path()).unwrap();
    assert!(!pidfile.exists());
    assert!(is_alive(std::process::id()));
}

#[test]
fn pidfile_status_line_is_parsed() {
    let root = TempRoot::create(None).unwrap();
    let text = "42\n/d\n1700000000\n5432\n\n127.0.0.1\n  1 2\nready   \n";
    fs::write(root.path().join("postmaster.pid"), text).unwrap();
    let file = pidfile::read(root.path()).unwrap();
    assert_eq!(
        file,
        pidfile::PidFile {
            pid: 42,
            ready: true
        }
    );
    fs::write(
        root.path().join("postmaster.pid"),
        text.replace("ready", "starting"),
    )
    .unwrap();
    assert!(!pidfile::read(root.path()).unwrap().ready);
}

#[test]
fn taken_port_is_detected_and_another_one_used() {
    let run_as = super::layout::RunAs::for_this_process().unwrap();
    let root = TempRoot::create(run_as.as_ref()).unwrap();
    let bin = super::binaries::find(None).unwrap();
    let cluster = cluster::Cluster::new(bin, root.path().join("pg"), run_as, "pw".into(), true);
    cluster.initdb().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let Err(EmbeddedError::Exited { tail, .. }) = server::start_on(&cluster, port) else {
        panic!("postgres started on a taken port");
    };
    assert!(tail.contains("Address already in use"), "{tail}");
    let (mut server, new_port) = server::start(&cluster).unwrap();
    assert_ne!(new_port, port);
    let pid = server.pid();
    server.stop().unwrap();
    assert!(!is_alive(pid));
}

/// Runs [`helper_process`] in a child test process, which starts a cluster
/// (temporary, or persistent on `data_dir`) and reports "PID\nCLUSTER_HOME"
/// through a file; returns the child, the pid and the cluster's home.
fn spawn_helper(mode: &str, data_dir: Option<&Path>) -> (std::process::Child, u32, PathBuf) {
    let out = std::env::temp_dir().join(format!("arkiter-helper-{}", random_hex(6)));
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "tests::helper_process", "--ignored"])
        .args(["--test-threads=1", "--nocapture"])
        .env(HELPER_ENV, format!("{mode}:{}", out.display()))
        .stdout(Stdio::null());
    if let Some(dir) = data_dir {
        cmd.env(HELPER_DATA_DIR_ENV, dir);
    }
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !out.exists() {
        assert!(Instant::now() < deadline, "helper did not start postgres");
        thread::sleep(Duration::from_millis(50));
    }
    let text = fs::read_to_string(&out).unwrap();
    fs::remove_file(&out).unwrap();
    let (pid, home) = text.split_once('\n').unwrap();
    (child, pid.parse().unwrap(), PathBuf::from(home))
}

#[test]
#[ignore = "run by other tests in a child process"]
fn helper_process() {
    let Some(task) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let task = task.into_string().unwrap();
    let (mode, out) = task.split_once(':').unwrap();
    let pg = match std::env::var_os(HELPER_DATA_DIR_ENV) {
        Some(dir) => EmbeddedPostgres::start_persistent(Path::new(&dir)).unwrap(),
        None => EmbeddedPostgres::start_temporary().unwrap(),
    };
    let home = pg.cluster.pgdata.parent().unwrap().display().to_string();
    let tmp = format!("{out}.tmp");
    fs::write(&tmp, format!("{}\n{home}", pg.pid())).unwrap();
    if mode == "exit" {
        super::stop_at_process_exit(pg);
        fs::rename(&tmp, out).unwrap();
        std::process::exit(0);
    }
    fs::rename(&tmp, out).unwrap();
    std::mem::forget(pg);
    // Waits to be SIGKILLed; the bound keeps a lost helper from lingering.
    thread::sleep(Duration::from_secs(120));
}

#[test]
fn server_dies_with_its_owner_even_on_sigkill() {
    let (mut child, pid, root) = spawn_helper("kill", None);
    assert!(is_alive(pid));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        wait_until_gone(pid, Duration::from_secs(30)),
        "postgres {pid} outlived its owner"
    );
    fs::remove_dir_all(root).unwrap();
}

#[test]
fn restart_right_after_kill_9_of_the_service_works() {
    let dir = DataDir::new("killed");
    let (mut child, old_pid, _) = spawn_helper("kill", Some(&dir.0));
    child.kill().unwrap(); // SIGKILL: the old server may still be shutting down
    child.wait().unwrap();
    let pg = EmbeddedPostgres::start_persistent(&dir.0).unwrap();
    assert!(
        !is_alive(old_pid),
        "the old server {old_pid} is still running"
    );
    let mut conn = connect(&pg);
    assert_eq!(count(&mut conn, "SELECT 1::bigint"), 1);
    drop(conn);
    stop_and_check_gone(pg);
}

#[test]
fn at_exit_handler_stops_and_removes_the_cluster() {
    let (mut child, pid, root) = spawn_helper("exit", None);
    assert!(child.wait().unwrap().success());
    // The handler waited for postgres and removed the directory; PDEATHSIG
    // alone would have left the directory behind.
    assert!(!is_alive(pid), "postgres {pid} still running after exit");
    assert!(!root.exists(), "{} left behind", root.display());
}

#[test]
fn data_dir_lock_is_exclusive() {
    let root = TempRoot::create(None).unwrap();
    let held = DataDirLock::acquire(root.path()).unwrap();
    assert!(matches!(
        DataDirLock::acquire(root.path()),
        Err(EmbeddedError::InUse { .. })
    ));
    drop(held);
    DataDirLock::acquire(root.path()).unwrap();
}

#[test]
fn supervised_cluster_is_restarted_on_its_port_after_kill_9() {
    let pg = EmbeddedPostgres::start_temporary().unwrap();
    let (old_pid, port, url) = (pg.pid(), pg.port(), pg.database_url("arkiter"));
    let watched = supervise::supervise(pg, |e| eprintln!("restart attempt failed: {e}")).unwrap();
    kill(Pid::from_raw(old_pid as i32), Signal::SIGKILL).unwrap();
    assert!(wait_until_gone(old_pid, Duration::from_secs(30)));
    // The same URL serves again once the watcher has started a new postmaster.
    let deadline = Instant::now() + supervise::GIVE_UP_AFTER;
    let mut conn = loop {
        match PgConnection::establish(&url) {
            Ok(conn) => break conn,
            Err(e) => assert!(Instant::now() < deadline, "not back: {e}"),
        }
        thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(count(&mut conn, "SELECT 1::bigint"), 1);
    drop(conn);
    let pg = watched.stop().unwrap();
    assert_ne!(pg.pid(), old_pid);
    assert_eq!(pg.port(), port);
    stop_and_check_gone(pg);
}
