//! A private PostgreSQL cluster run from the machine's own PostgreSQL binaries
//! (the `postgresql` server package: `initdb` and `postgres` on `PATH` or in
//! `/usr/lib/postgresql/*/bin`).
//!
//! arkiter-lever uses it when `DATABASE_URL` is unset.
//! [`EmbeddedPostgres::start_persistent`] keeps a cluster belonging to a data
//! directory across restarts; [`EmbeddedPostgres::start_temporary`] makes a
//! throwaway one for tests and demos. Either way the server listens on a
//! loopback TCP port, wants a password, and has a database `arkiter`.
//! [`supervise::supervise`] restarts a postmaster that died.
//!
//! ```no_run
//! use pg_embedded::EmbeddedPostgres;
//!
//! # fn main() -> Result<(), pg_embedded::EmbeddedError> {
//! let mut pg = EmbeddedPostgres::start_temporary()?;
//! let url = pg.database_url("arkiter"); // postgres://…@127.0.0.1:PORT/arkiter
//! # let _ = url;
//! // … connect with any Postgres client …
//! pg.stop()?; // also on drop; the temporary directory goes with it
//! # Ok(())
//! # }
//! ```
//!
//! Traps handled here (each has a test in `tests.rs`):
//! - PostgreSQL refuses to run as root. As root, initdb and postgres run as the
//!   `postgres` system user, and the cluster lives in a postgres-owned directory
//!   outside the data directory (which may sit in a home such as /root that
//!   postgres cannot enter); a pointer file in the data directory names it.
//! - Unix socket paths are limited to 107 bytes: no Unix socket at all, TCP on
//!   127.0.0.1 with a port found free at each start (retried if it gets taken).
//! - Ctrl-C signals the whole foreground process group: postgres gets a group
//!   of its own, so the service drains first and then stops postgres itself.
//! - A killed service leaves its server running: the next start finds it
//!   through `postmaster.pid` and stops it. A second *live* service on the same
//!   data directory is refused by a lock file instead of having its server
//!   stopped. Besides, postgres gets `PR_SET_PDEATHSIG` = SIGINT, so it
//!   fast-shuts down by itself when the service dies, even by SIGKILL.
//! - No binaries installed: a one-line error naming the fix.
//! - Security: scram-sha-256 with a random password, kept 0600 in the data
//!   directory and never logged.
//! - Test harnesses keep their cluster in a static whose destructor never runs:
//!   [`stop_at_process_exit`] stops it from an `atexit` handler.

mod binaries;
mod cluster;
mod files;
mod layout;
mod pidfile;
mod server;
pub mod supervise;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, RunQueryDsl};

use cluster::Cluster;
use files::DataDirLock;
use layout::{RunAs, TempRoot};
use server::Server;

/// The database the service uses; created on every start if missing.
const ARKITER_DB: &str = "arkiter";

/// Why the embedded cluster could not be set up, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries found (initdb/postgres on PATH or in /usr/lib/postgresql/*/bin): install the 'postgresql' package, or set DATABASE_URL"
    )]
    NoBinaries,
    #[error(
        "running as root, but there is no 'postgres' system user to run PostgreSQL as (it refuses to run as root): create one, e.g. `useradd --system postgres`, or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("could not look up the 'postgres' system user: {0}")]
    UserLookup(#[source] nix::Error),
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "found no directory for the PostgreSQL cluster that the 'postgres' user can reach (tried {tried}): make /var/lib writable, or set DATABASE_URL"
    )]
    NoClusterLocation { tried: String },
    #[error(
        "{} is not a safe place for the cluster: it must be a real directory (not a symlink) that no user but root or 'postgres' can write to",
        path.display()
    )]
    UnsafeDirectory { path: PathBuf },
    #[error(
        "the data directory {} is in use by another running arkiter-lever (it holds the lock {})",
        data_dir.display(),
        lock_file.display()
    )]
    InUse {
        data_dir: PathBuf,
        lock_file: PathBuf,
    },
    #[error(
        "{} holds a cluster made by a run as a non-root user; now running as root, PostgreSQL would run as 'postgres' and could not use it: run the service as that user again, or set DATABASE_URL",
        pgdata.display()
    )]
    CreatedByNonRoot { pgdata: PathBuf },
    #[error(
        "the cluster of this data directory was made by a run as root (at {}, named in {}): run the service as root again, or set DATABASE_URL",
        pgdata.display(),
        pointer.display()
    )]
    CreatedByRoot { pgdata: PathBuf, pointer: PathBuf },
    #[error(
        "{} names {} as the cluster directory, which is not one this service makes: fix or remove that file",
        pointer.display(),
        pgdata.display()
    )]
    BadPointer { pointer: PathBuf, pgdata: PathBuf },
    #[error(
        "the cluster at {} exists but its password file {} is missing or empty: restore the file, or remove the cluster directory to start over with an empty database",
        pgdata.display(),
        password_file.display()
    )]
    PasswordMissing {
        pgdata: PathBuf,
        password_file: PathBuf,
    },
    #[error("could not run {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("initdb failed ({status}); its output:\n{output}")]
    Initdb { status: String, output: String },
    #[error("postgres exited while starting ({status}); last lines of {}:\n{tail}", log.display())]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("postgres did not become ready within {secs} s; last lines of {}:\n{tail}", log.display())]
    NotReady {
        secs: u64,
        log: PathBuf,
        tail: String,
    },
    #[error("could not connect to the embedded PostgreSQL on port {port}: {message}")]
    Connect { port: u16, message: String },
    #[error("could not create the database '{name}': {message}")]
    CreateDatabase { name: &'static str, message: String },
    #[error("postgres (pid {pid}) did not exit even after SIGINT, SIGQUIT and SIGKILL")]
    StopTimeout { pid: u32 },
}

/// A running PostgreSQL server of our own. Stopped by [`EmbeddedPostgres::stop`]
/// or on drop.
pub struct EmbeddedPostgres {
    cluster: Cluster,
    port: u16,
    pid: u32,
    server: Option<Server>,
    /// Held while the server runs, so that a second service on the same data
    /// directory is refused instead of stopping our server as an "orphan".
    lock: Option<DataDirLock>,
    /// Removed once the server has stopped (temporary clusters only).
    temp_root: Option<TempRoot>,
}

impl EmbeddedPostgres {
    /// Persistent cluster belonging to `data_dir` (the service's
    /// ARKITER_DATA_DIR): created on first start, reused later; stops an
    /// orphaned server left by a killed previous run; starts a fresh postmaster.
    pub fn start_persistent(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let data_dir = layout::prepare_data_dir(data_dir)?;
        let lock = DataDirLock::acquire(&data_dir)?;
        let run_as = RunAs::for_this_process()?;
        let pgdata = layout::persistent_pgdata(&data_dir, run_as.as_ref())?;
        let existing_major = cluster::major_version(&pgdata);
        let password = files::persistent_password(&data_dir, &pgdata, existing_major.is_some())?;
        let bin = binaries::find(existing_major.as_deref())?;
        let cluster = Cluster::new(bin, pgdata, run_as, password, false);
        pidfile::stop_leftover_server(&cluster.pgdata)?;
        if existing_major.is_none() {
            cluster.initdb()?;
        }
        Self::launch(cluster, Some(lock), None)
    }

    /// Throwaway cluster in a fresh temporary directory, removed on stop
    /// (tests, demo).
    pub fn start_temporary() -> Result<Self, EmbeddedError> {
        let run_as = RunAs::for_this_process()?;
        let bin = binaries::find(None)?;
        let root = TempRoot::create(run_as.as_ref())?;
        let pgdata = root.path().join("pg");
        let cluster = Cluster::new(bin, pgdata, run_as, files::random_password(), true);
        cluster.initdb()?;
        Self::launch(cluster, None, Some(root))
    }

    fn launch(
        cluster: Cluster,
        lock: Option<DataDirLock>,
        temp_root: Option<TempRoot>,
    ) -> Result<Self, EmbeddedError> {
        let (server, port) = server::start(&cluster)?;
        let pg = Self {
            pid: server.pid(),
            server: Some(server),
            cluster,
            port,
            lock,
            temp_root,
        };
        // On error `pg` is dropped here, which stops the server.
        pg.create_database(ARKITER_DB)?;
        tracing::info!(
            pid = pg.pid,
            port,
            pgdata = %pg.cluster.pgdata.display(),
            temporary = pg.temp_root.is_some(),
            "embedded PostgreSQL ready"
        );
        Ok(pg)
    }

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/DBNAME`.
    pub fn database_url(&self, dbname: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            cluster::SUPERUSER,
            self.cluster.password,
            self.port,
            dbname
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Pid of the postmaster (still the old one after [`Self::stop`]).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits up to `timeout` for the postmaster to exit; true if it has (or
    /// was stopped).
    pub fn exited_within(&mut self, timeout: std::time::Duration) -> bool {
        self.server
            .as_mut()
            .is_none_or(|server| server.gone_within(timeout))
    }

    /// Starts the postmaster again after it died (killed, crashed), on the
    /// same port so every `DATABASE_URL` handed out stays valid. Postgres
    /// recovers from its WAL as after any crash.
    pub fn revive(&mut self) -> Result<(), EmbeddedError> {
        if let Some(mut old) = self.server.take() {
            old.stop()?;
        }
        pidfile::stop_leftover_server(&self.cluster.pgdata)?;
        let server = server::start_on(&self.cluster, self.port)?;
        self.pid = server.pid();
        self.server = Some(server);
        Ok(())
    }

    /// Stops the postmaster and starts it again on the same port and data:
    /// what `pg_ctl restart -m fast` (or `-m immediate`: no checkpoint, crash
    /// recovery on start) does. Every client connection is dropped; for tests
    /// of the service surviving a database restart.
    pub fn restart(&mut self, immediate: bool) -> Result<(), EmbeddedError> {
        if let Some(mut server) = self.server.take() {
            server.stop_with(immediate)?;
        }
        let server = server::start_on(&self.cluster, self.port)?;
        self.pid = server.pid();
        self.server = Some(server);
        tracing::info!(
            pid = self.pid,
            port = self.port,
            immediate,
            "embedded PostgreSQL restarted"
        );
        Ok(())
    }

    /// Fast shutdown (SIGINT to the postmaster), waiting until it exited;
    /// escalates to SIGQUIT, then SIGKILL, after bounded waits. Idempotent.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        tracing::info!(
            pid = self.pid,
            port = self.port,
            "stopping embedded PostgreSQL"
        );
        let stopped = server.stop();
        // Only once postgres is gone may another start take over the data dir.
        self.lock = None;
        if let Some(root) = self.temp_root.take() {
            root.remove()?;
        }
        stopped?;
        tracing::info!(pid = self.pid, "embedded PostgreSQL stopped");
        Ok(())
    }

    fn create_database(&self, name: &'static str) -> Result<(), EmbeddedError> {
        let mut conn = PgConnection::establish(&self.database_url("postgres")).map_err(|e| {
            EmbeddedError::Connect {
                port: self.port,
                message: self.cluster.redact(&e.to_string()),
            }
        })?;
        let failed = |e: diesel::result::Error| EmbeddedError::CreateDatabase {
            name,
            message: e.to_string(),
        };
        let exists: bool = diesel::select(
            sql::<Bool>("EXISTS (SELECT 1 FROM pg_database WHERE datname = ")
                .bind::<Text, _>(name)
                .sql(")"),
        )
        .get_result(&mut conn)
        .map_err(failed)?;
        if !exists {
            // Identifiers cannot be bound; `name` is one of our constants.
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .map_err(failed)?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "could not stop embedded PostgreSQL");
        }
    }
}

impl fmt::Debug for EmbeddedPostgres {
    // Hand-written so that the password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedPostgres")
            .field("pgdata", &self.cluster.pgdata)
            .field("port", &self.port)
            .field("pid", &self.pid)
            .field("running", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

/// Maps an io::Error to [`EmbeddedError::Io`] naming what was being done.
fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io {
        action,
        path,
        source,
    }
}

/// Clusters that [`stop_at_process_exit`] stops from the `atexit` handler.
static AT_EXIT: Mutex<Vec<EmbeddedPostgres>> = Mutex::new(Vec::new());
static REGISTER_AT_EXIT: Once = Once::new();

/// Stops `pg` when the process exits normally or through `process::exit`
/// (which libtest calls, also when tests fail). For clusters kept in statics,
/// whose destructors never run. A SIGKILL is covered by PDEATHSIG instead.
pub fn stop_at_process_exit(pg: EmbeddedPostgres) {
    AT_EXIT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(pg);
    REGISTER_AT_EXIT.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()`, as atexit requires.
        if unsafe { libc::atexit(stop_clusters_at_exit) } != 0 {
            tracing::warn!("could not register the atexit handler; PDEATHSIG will stop postgres");
        }
    });
}

extern "C" fn stop_clusters_at_exit() {
    let clusters = std::mem::take(
        &mut *AT_EXIT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    for mut pg in clusters {
        // Nobody is left to report an error to; stop() logs what it does.
        let _ = pg.stop();
    }
}
