//! One cluster: how to create it (initdb) and the command line that serves it.

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::EmbeddedError;
use super::binaries::Binaries;
use super::files::{random_hex, write_private_file};
use super::io_err;
use super::layout::{RunAs, give_to};

/// The superuser initdb creates, and whom the service connects as.
pub(super) const SUPERUSER: &str = "postgres";

/// Everything needed to initialise and run one cluster.
pub(super) struct Cluster {
    bin: Binaries,
    pub(super) pgdata: PathBuf,
    run_as: Option<RunAs>,
    pub(super) password: String,
    /// Throwaway cluster: durability is traded for speed.
    temporary: bool,
}

/// The major version recorded in an existing cluster, `None` if there is none.
pub(super) fn major_version(pgdata: &Path) -> Option<String> {
    let text = fs::read_to_string(pgdata.join("PG_VERSION")).ok()?;
    Some(text.trim().to_string()).filter(|v| !v.is_empty())
}

impl Cluster {
    pub(super) fn new(
        bin: Binaries,
        pgdata: PathBuf,
        run_as: Option<RunAs>,
        password: String,
        temporary: bool,
    ) -> Self {
        Self {
            bin,
            pgdata,
            run_as,
            password,
            temporary,
        }
    }

    pub(super) fn run_as(&self) -> Option<&RunAs> {
        self.run_as.as_ref()
    }

    /// Where the server's stderr goes (postgres runs with logging_collector off).
    pub(super) fn log_path(&self) -> PathBuf {
        self.pgdata.join("log").join("server.log")
    }

    /// Replaces the password in text that may echo it (belt and braces: libpq
    /// messages do not normally include it).
    pub(super) fn redact(&self, text: &str) -> String {
        text.replace(&self.password, "<redacted>")
    }

    /// The directory PGDATA sits in: ours, or postgres' when running as root.
    fn home(&self) -> &Path {
        self.pgdata.parent().unwrap_or(Path::new("/"))
    }

    /// Runs initdb with password authentication; the password travels in a
    /// 0600 file that postgres can read and that is removed right after.
    pub(super) fn initdb(&self) -> Result<(), EmbeddedError> {
        tracing::info!(pgdata = %self.pgdata.display(), "creating PostgreSQL cluster (initdb)");
        let pwfile = PasswordFile::create(self.home(), &self.password, self.run_as())?;
        let program = self.bin.initdb();
        let mut cmd = self.command(&program);
        cmd.arg("-D")
            .arg(&self.pgdata)
            .arg(format!("--username={SUPERUSER}"))
            .args(["--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"])
            .arg(format!("--pwfile={}", pwfile.path.display()))
            .current_dir(self.home());
        if self.temporary {
            cmd.arg("--no-sync");
        }
        let out = cmd
            .output()
            .map_err(|source| EmbeddedError::Spawn { program, source })?;
        if !out.status.success() {
            let output = [out.stdout, out.stderr].concat();
            return Err(EmbeddedError::Initdb {
                status: out.status.to_string(),
                output: self.redact(&String::from_utf8_lossy(&output)),
            });
        }
        Ok(())
    }

    /// The postmaster's command line: TCP on 127.0.0.1 only (no Unix socket,
    /// whose path is limited to 107 bytes), in a process group of its own (so
    /// Ctrl-C at the terminal does not reach it), stderr to `log`.
    pub(super) fn server_command(&self, port: u16, log: &File) -> Result<Command, EmbeddedError> {
        let program = self.bin.postgres();
        let mut cmd = self.command(&program);
        cmd.arg("-D")
            .arg(&self.pgdata)
            .arg("-p")
            .arg(port.to_string());
        for setting in [
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",
            "max_connections=200",
            "logging_collector=off",
        ] {
            cmd.arg("-c").arg(setting);
        }
        if self.temporary {
            for setting in [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
            ] {
                cmd.arg("-c").arg(setting);
            }
        } else {
            // A durable cluster takes webhook ingest's random-key index
            // inserts: after each checkpoint, the first change to every
            // index page writes the whole page to the WAL. Checkpoints 15
            // minutes apart (not 5, and not forced early by 1 GB of WAL)
            // and compressed page images halve the WAL per delivery and
            // keep the ack p99 flat (docs/BENCHMARKS.md, P1 sustained).
            // Durability is unchanged: fsync, synchronous_commit and
            // full_page_writes stay on.
            //
            // The same random-key inserts need those index pages resident:
            // with the default 128 MB of shared buffers, each insert evicts
            // a dirty index page, and the kernel writes the evicted pages
            // out every 30 s in bursts of hundreds of megabytes, behind
            // which every commit's WAL flush waits (the ack p99 of
            // docs/BENCHMARKS.md, P1 sustained). A quarter of the machine's
            // memory, at most 2 GB, holds both dedupe indexes at 10 million
            // rows; the memory is only taken as pages are read.
            let compression = if self.bin.wal_lz4() { "lz4" } else { "on" };
            for setting in [
                "checkpoint_timeout=15min".to_owned(),
                "max_wal_size=8GB".to_owned(),
                format!("wal_compression={compression}"),
                format!("shared_buffers={}MB", shared_buffers_mb(memory_mb())),
            ] {
                cmd.arg("-c").arg(setting);
            }
        }
        let log_path = self.log_path();
        let stdout = log.try_clone().map_err(io_err("duplicate", &log_path))?;
        let stderr = log.try_clone().map_err(io_err("duplicate", &log_path))?;
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .current_dir(&self.pgdata)
            .process_group(0);
        Ok(cmd)
    }

    /// A command for one of the cluster's binaries, run as the postgres
    /// account when we are root, without our PG* variables (PGDATA, PGPORT,
    /// PGOPTIONS… would silently change what initdb and postgres do).
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        for (key, _) in std::env::vars_os() {
            if key.as_encoded_bytes().starts_with(b"PG") {
                cmd.env_remove(key);
            }
        }
        if let Some(r) = self.run_as() {
            // std also clears the supplementary groups when root switches uid,
            // so postgres keeps none of root's.
            cmd.uid(r.uid.as_raw()).gid(r.gid.as_raw());
        }
        cmd
    }
}

/// initdb's `--pwfile`, deleted on drop.
struct PasswordFile {
    path: PathBuf,
}

impl PasswordFile {
    fn create(dir: &Path, password: &str, run_as: Option<&RunAs>) -> Result<Self, EmbeddedError> {
        let file = Self {
            path: dir.join(format!(".initdb-pw-{}", random_hex(6))),
        };
        write_private_file(&file.path, password.as_bytes())?;
        give_to(&file.path, run_as, 0o600)?;
        Ok(file)
    }
}

impl Drop for PasswordFile {
    fn drop(&mut self) {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(path = %self.path.display(), error = %e, "could not remove initdb password file");
            }
            _ => {}
        }
    }
}

/// The machine's memory in MB, from `/proc/meminfo` (`None` where there is
/// none, and Postgres's default then stands).
fn memory_mb() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// A durable cluster's shared buffers: a quarter of the memory, between
/// Postgres's default of 128 MB and 2 GB.
fn shared_buffers_mb(memory_mb: Option<u64>) -> u64 {
    memory_mb.map_or(128, |m| (m / 4).clamp(128, 2048))
}

#[cfg(test)]
mod tests {
    use super::shared_buffers_mb;

    #[test]
    fn a_quarter_of_memory_between_the_default_and_two_gigabytes() {
        assert_eq!(shared_buffers_mb(None), 128);
        assert_eq!(shared_buffers_mb(Some(256)), 128);
        assert_eq!(shared_buffers_mb(Some(4096)), 1024);
        assert_eq!(shared_buffers_mb(Some(24 * 1024)), 2048);
    }
}
