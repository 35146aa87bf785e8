//! Running the postmaster: spawned from a thread of its own that lives as long
//! as the server, on a free loopback port, and waited for until ready.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::EmbeddedError;
use super::cluster::Cluster;
use super::io_err;
use super::layout::give_to;
use super::pidfile;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);
/// Another process may grab the port between our probe and postgres' bind.
const PORT_ATTEMPTS: u32 = 5;
/// Beyond this the log is moved aside at the next start.
const LOG_ROTATE_BYTES: u64 = 10 * 1024 * 1024;
const LOG_TAIL_LINES: usize = 30;

/// A postmaster we started, and the thread that waits for it.
pub(super) struct Server {
    pid: u32,
    exited: Receiver<io::Result<ExitStatus>>,
    /// How it ended, once known.
    status: Option<String>,
    waiter: Option<JoinHandle<()>>,
}

/// Starts the server on a free port, retrying if the port got taken meanwhile.
pub(super) fn start(cluster: &Cluster) -> Result<(Server, u16), EmbeddedError> {
    let mut attempt = 1;
    loop {
        let port = free_port()?;
        match start_on(cluster, port) {
            Err(EmbeddedError::Exited { ref tail, .. })
                if attempt < PORT_ATTEMPTS && tail.contains("Address already in use") =>
            {
                tracing::warn!(
                    port,
                    "port was taken before postgres could bind it; trying another"
                );
                attempt += 1;
            }
            result => return result.map(|server| (server, port)),
        }
    }
}

/// Asks the kernel for a free loopback port and releases it for postgres.
fn free_port() -> Result<u16, EmbeddedError> {
    let probe = |e| io_err("find a free port on", &PathBuf::from("127.0.0.1"))(e);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(probe)?;
    Ok(listener.local_addr().map_err(probe)?.port())
}

pub(super) fn start_on(cluster: &Cluster, port: u16) -> Result<Server, EmbeddedError> {
    let log = ServerLog::open(cluster)?;
    let mut cmd = cluster.server_command(port, &log.file)?;
    die_with_parent(&mut cmd);
    tracing::info!(port, pgdata = %cluster.pgdata.display(), "starting embedded PostgreSQL");
    let mut server = Server::spawn(cmd)?;
    match wait_ready(&mut server, cluster, &log) {
        Ok(()) => Ok(server),
        Err(e) => {
            let _ = server.stop();
            Err(e)
        }
    }
}

/// Has the kernel send SIGINT (fast shutdown) to postgres when its parent dies,
/// even by SIGKILL. std runs this after setuid, which would reset it.
fn die_with_parent(cmd: &mut Command) {
    let parent = i32::try_from(std::process::id()).unwrap_or(0);
    let hook = move || {
        // SAFETY: prctl and getppid are async-signal-safe; nothing allocates.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT as libc::c_ulong) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Had the parent died before prctl, no signal would ever come.
        if unsafe { libc::getppid() } != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only makes the
    // async-signal-safe calls above.
    unsafe {
        cmd.pre_exec(hook);
    }
}

fn wait_ready(
    server: &mut Server,
    cluster: &Cluster,
    log: &ServerLog,
) -> Result<(), EmbeddedError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = server.status.clone() {
            return Err(EmbeddedError::Exited {
                status,
                log: log.path.clone(),
                tail: log.tail(),
            });
        }
        // Postgres writes "ready" into postmaster.pid once it accepts connections.
        if pidfile::read(&cluster.pgdata).is_some_and(|f| f.pid == server.pid && f.ready) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(EmbeddedError::NotReady {
                secs: READY_TIMEOUT.as_secs(),
                log: log.path.clone(),
                tail: log.tail(),
            });
        }
        server.gone_within(POLL);
    }
}

impl Server {
    /// Spawns `cmd` from a new thread that then waits for it. PDEATHSIG fires
    /// when the *thread* that forked exits, so that thread must live exactly
    /// as long as the server.
    fn spawn(mut cmd: Command) -> Result<Self, EmbeddedError> {
        let program = PathBuf::from(cmd.get_program());
        let (started_tx, started_rx) = mpsc::channel();
        let (exited_tx, exited_rx) = mpsc::channel();
        let waiter = thread::Builder::new()
            .name("embedded-postgres".into())
            .spawn(move || match cmd.spawn() {
                Ok(mut child) => {
                    let _ = started_tx.send(Ok(child.id()));
                    let _ = exited_tx.send(child.wait());
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                }
            })
            .map_err(|source| EmbeddedError::Spawn {
                program: program.clone(),
                source,
            })?;
        let pid = match started_rx.recv() {
            Ok(Ok(pid)) => pid,
            Ok(Err(source)) => return Err(EmbeddedError::Spawn { program, source }),
            Err(_) => {
                let source = io::Error::other("the thread starting it ended");
                return Err(EmbeddedError::Spawn { program, source });
            }
        };
        Ok(Self {
            pid,
            exited: exited_rx,
            status: None,
            waiter: Some(waiter),
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits up to `timeout` for the postmaster to exit; true once it has.
    pub(super) fn gone_within(&mut self, timeout: Duration) -> bool {
        if self.status.is_some() {
            return true;
        }
        let status = match self.exited.recv_timeout(timeout) {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(RecvTimeoutError::Timeout) => return false,
            Err(RecvTimeoutError::Disconnected) => "waiter thread ended".to_string(),
        };
        self.status = Some(status);
        true
    }

    /// Stops the postmaster (see [`pidfile::stop_escalating`]) and reaps the
    /// waiter thread. Idempotent.
    pub(super) fn stop(&mut self) -> Result<(), EmbeddedError> {
        self.stop_with(false)
    }

    /// Like [`Server::stop`]; `immediate` skips the fast shutdown
    /// ([`pidfile::stop_immediately`]).
    pub(super) fn stop_with(&mut self, immediate: bool) -> Result<(), EmbeddedError> {
        // Checked first so that a pid already reaped (and maybe reused) is
        // never signalled.
        if !self.gone_within(Duration::ZERO) {
            let pid = self.pid;
            if immediate {
                pidfile::stop_immediately(pid, |grace| self.gone_within(grace))?;
            } else {
                pidfile::stop_escalating(pid, |grace| self.gone_within(grace))?;
            }
        }
        if let Some(waiter) = self.waiter.take() {
            let _ = waiter.join();
        }
        Ok(())
    }
}

/// The server's log file, and where this start's lines begin in it.
struct ServerLog {
    path: PathBuf,
    file: File,
    start: u64,
}

impl ServerLog {
    fn open(cluster: &Cluster) -> Result<Self, EmbeddedError> {
        let path = cluster.log_path();
        if let Some(dir) = path.parent().filter(|d| !d.exists()) {
            DirBuilder::new()
                .mode(0o700)
                .create(dir)
                .map_err(io_err("create", dir))?;
            give_to(dir, cluster.run_as(), 0o700)?;
        }
        if fs::metadata(&path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
            let _ = fs::rename(&path, path.with_extension("log.old"));
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err("open", &path))?;
        give_to(&path, cluster.run_as(), 0o600)?;
        let start = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self { path, file, start })
    }

    /// The last lines written since this start, for error messages.
    fn tail(&self) -> String {
        let mut bytes = Vec::new();
        let read = File::open(&self.path).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.start))?;
            f.take(1024 * 1024).read_to_end(&mut bytes)
        });
        if let Err(e) = read {
            return format!("(could not read the log: {e})");
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}
