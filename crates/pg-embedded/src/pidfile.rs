//! `postmaster.pid`: telling when the server is ready, and finding a server
//! left running by a previous run that was killed. Also the signal
//! escalation used to stop any postmaster.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgid};

use super::EmbeddedError;

/// Fast shutdown may have to finish a checkpoint; give it time.
const FAST_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
const IMMEDIATE_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const KILL_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// The parts of `postmaster.pid` we use: line 1 is the pid, line 8 the status.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct PidFile {
    pub(super) pid: u32,
    pub(super) ready: bool,
}

pub(super) fn read(pgdata: &Path) -> Option<PidFile> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let ready = lines.nth(6).is_some_and(|status| status.trim() == "ready");
    Some(PidFile { pid, ready })
}

/// Whether `pid` names a live process (a zombie, dead but not reaped by
/// whoever inherited it, counts as gone).
pub(super) fn is_alive(pid: u32) -> bool {
    match kill(as_pid(pid), None) {
        Ok(()) | Err(Errno::EPERM) => !is_zombie(pid),
        Err(_) => false,
    }
}

fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may hold spaces.
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// Whether `pid` is a postgres process serving `pgdata`: the pid in a stale
/// file may have been reused by anything.
fn is_postmaster_of(pid: u32, pgdata: &Path) -> bool {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim_end() != "postgres" {
        return false;
    }
    // The postmaster works in its data directory. If we may not look (not
    // root, other user), the comm check has to do.
    match (
        fs::read_link(format!("/proc/{pid}/cwd")),
        fs::canonicalize(pgdata),
    ) {
        (Ok(cwd), Ok(pgdata)) => cwd == pgdata,
        _ => true,
    }
}

/// Stops a server still running on `pgdata` from a previous run that was
/// killed (our data directory lock proves its owner is gone). Stopping and
/// starting afresh is simpler than adopting it: we would not know its port
/// or be its parent.
pub(super) fn stop_leftover_server(pgdata: &Path) -> Result<(), EmbeddedError> {
    let Some(file) = read(pgdata) else {
        return Ok(());
    };
    if !is_alive(file.pid) {
        // Postgres itself deals with a stale file whose pid is dead.
        return Ok(());
    }
    if !is_postmaster_of(file.pid, pgdata) {
        // Postgres would refuse to start ("lock file already exists") though
        // that pid is not a postmaster of this cluster: the file is stale.
        tracing::warn!(
            pid = file.pid,
            "removing a stale postmaster.pid whose pid now belongs to another process"
        );
        let path = pgdata.join("postmaster.pid");
        return fs::remove_file(&path).map_err(super::io_err("remove", &path));
    }
    tracing::warn!(pid = file.pid, pgdata = %pgdata.display(), "stopping a PostgreSQL server left running by a previous run");
    stop_escalating(file.pid, |grace| {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !is_alive(file.pid) {
                return true;
            }
            thread::sleep(POLL);
        }
        !is_alive(file.pid)
    })
}

/// Fast shutdown (SIGINT); if postgres hangs, immediate shutdown (SIGQUIT);
/// last, SIGKILL to its whole process group. `gone_within(grace)` waits up to
/// `grace` and says whether the postmaster has exited.
pub(super) fn stop_escalating(
    pid: u32,
    mut gone_within: impl FnMut(Duration) -> bool,
) -> Result<(), EmbeddedError> {
    let steps = [
        (Signal::SIGINT, FAST_SHUTDOWN_GRACE),
        (Signal::SIGQUIT, IMMEDIATE_SHUTDOWN_GRACE),
        (Signal::SIGKILL, KILL_GRACE),
    ];
    for (signal, grace) in steps {
        send(pid, signal);
        if gone_within(grace) {
            return Ok(());
        }
        tracing::warn!(pid, %signal, "postgres did not exit in time");
    }
    Err(EmbeddedError::StopTimeout { pid })
}

/// Immediate shutdown (SIGQUIT: no checkpoint, recovery at the next start,
/// as after a crash), then SIGKILL to its group if it hangs.
pub(super) fn stop_immediately(
    pid: u32,
    mut gone_within: impl FnMut(Duration) -> bool,
) -> Result<(), EmbeddedError> {
    for (signal, grace) in [
        (Signal::SIGQUIT, IMMEDIATE_SHUTDOWN_GRACE),
        (Signal::SIGKILL, KILL_GRACE),
    ] {
        send(pid, signal);
        if gone_within(grace) {
            return Ok(());
        }
    }
    Err(EmbeddedError::StopTimeout { pid })
}

fn send(pid: u32, signal: Signal) {
    let pid = as_pid(pid);
    // A SIGKILLed postmaster cannot take its backends down: hit its whole
    // group, which is its own (it was started with process_group(0)).
    let result = if signal == Signal::SIGKILL && getpgid(Some(pid)) == Ok(pid) {
        killpg(pid, signal)
    } else {
        kill(pid, signal)
    };
    if let Err(e) = result {
        // ESRCH: it is already gone, which is what we want.
        if e != Errno::ESRCH {
            tracing::warn!(%pid, %signal, error = %e, "could not signal postgres");
        }
    }
}

fn as_pid(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX))
}
