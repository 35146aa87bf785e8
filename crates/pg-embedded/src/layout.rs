//! Where the cluster's files live, and who owns them.
//!
//! Non-root: the cluster is `DATA_DIR/pg`, run as ourselves. Root: PostgreSQL
//! refuses to run as root, so it runs as the `postgres` user, which cannot
//! enter a data directory under a private home such as /root. The cluster then
//! lives in `/var/lib/arkiter-lever/<hash of DATA_DIR>/pg` (or under the temp
//! dir if /var/lib is not writable), owned by postgres, and
//! `DATA_DIR/postgres.location` names it. The password file and the lock stay
//! in the data directory, owned by whoever runs the service.

use std::ffi::OsString;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, User, chown, geteuid};
use sha2::{Digest, Sha256};

use super::files::{random_hex, write_private_file};
use super::{EmbeddedError, io_err};

const POSTGRES_USER: &str = "postgres";
const POINTER_FILE: &str = "postgres.location";
const ROOT_BASE: &str = "/var/lib/arkiter-lever";

/// The account initdb and postgres run as when the service runs as root.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunAs {
    pub(super) uid: Uid,
    pub(super) gid: Gid,
}

impl RunAs {
    /// `None` unless we are root: otherwise postgres simply runs as us.
    pub(super) fn for_this_process() -> Result<Option<Self>, EmbeddedError> {
        if !geteuid().is_root() {
            return Ok(None);
        }
        let user = User::from_name(POSTGRES_USER)
            .map_err(EmbeddedError::UserLookup)?
            .ok_or(EmbeddedError::NoPostgresUser)?;
        Ok(Some(Self {
            uid: user.uid,
            gid: user.gid,
        }))
    }

    /// Whether this account can walk down to `dir` (search permission on every
    /// ancestor). Supplementary groups are ignored: std drops them when it
    /// switches the child to this uid.
    fn can_reach(&self, dir: &Path) -> bool {
        dir.ancestors().all(|d| {
            fs::metadata(d).is_ok_and(|m| {
                let mode = m.mode();
                if m.uid() == self.uid.as_raw() {
                    mode & 0o100 != 0
                } else if m.gid() == self.gid.as_raw() {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                }
            })
        })
    }
}

/// Hands `path` to the postgres account (when root) and makes it private.
pub(super) fn give_to(path: &Path, run_as: Option<&RunAs>, mode: u32) -> Result<(), EmbeddedError> {
    if let Some(r) = run_as {
        chown(path, Some(r.uid), Some(r.gid))
            .map_err(|e| io_err("change the owner of", path)(e.into()))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_err("set permissions of", path))
}

/// Creates the data directory if missing (0700) and returns its canonical path.
pub(super) fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf, EmbeddedError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(io_err("create the data directory", data_dir))?;
    fs::canonicalize(data_dir).map_err(io_err("resolve the data directory", data_dir))
}

/// The cluster directory (PGDATA) of the persistent cluster of `data_dir`.
pub(super) fn persistent_pgdata(
    data_dir: &Path,
    run_as: Option<&RunAs>,
) -> Result<PathBuf, EmbeddedError> {
    let pointer = data_dir.join(POINTER_FILE);
    let recorded = read_pointer(&pointer)?;
    let Some(run_as) = run_as else {
        return match recorded {
            Some(pgdata) => Err(EmbeddedError::CreatedByRoot { pgdata, pointer }),
            None => Ok(data_dir.join("pg")),
        };
    };
    let own = data_dir.join("pg");
    if recorded.is_none() && own.exists() {
        return Err(EmbeddedError::CreatedByNonRoot { pgdata: own });
    }
    let pgdata = match recorded {
        Some(pgdata) => pgdata,
        None => root_cluster_base(run_as)?
            .join(short_hash(data_dir))
            .join("pg"),
    };
    // We are about to hand the cluster's home to postgres: never do that to a
    // path that a damaged pointer file names but we did not make.
    let Some((home, base)) = cluster_dirs(&pgdata) else {
        return Err(EmbeddedError::BadPointer { pointer, pgdata });
    };
    ensure_root_base(base)?;
    ensure_private_dir(home, run_as)?;
    if !pgdata.exists() {
        tracing::info!(pgdata = %pgdata.display(), "creating the embedded PostgreSQL cluster outside the data directory, owned by 'postgres'");
    }
    write_pointer(&pointer, &pgdata)?;
    Ok(pgdata)
}

fn read_pointer(pointer: &Path) -> Result<Option<PathBuf>, EmbeddedError> {
    match fs::read(pointer) {
        Ok(mut bytes) => {
            while bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            Ok(Some(PathBuf::from(OsString::from_vec(bytes))))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", pointer)(e)),
    }
}

fn write_pointer(pointer: &Path, pgdata: &Path) -> Result<(), EmbeddedError> {
    let mut line = pgdata.as_os_str().as_bytes().to_vec();
    line.push(b'\n');
    if fs::read(pointer).is_ok_and(|old| old == line) {
        return Ok(());
    }
    write_private_file(pointer, &line)
}

/// For `/…/arkiter-lever/<16 hex digits>/pg`, as made by
/// [`persistent_pgdata`]: its parent (the cluster's home) and grandparent.
fn cluster_dirs(pgdata: &Path) -> Option<(&Path, &Path)> {
    let home = pgdata.parent()?;
    let base = home.parent()?;
    let name = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string()
    };
    let hash = name(home);
    let ours = pgdata.is_absolute()
        && name(pgdata) == "pg"
        && hash.len() == 16
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && name(base) == "arkiter-lever";
    ours.then_some((home, base))
}

/// First 16 hex digits of SHA-256 of the canonical data directory path.
fn short_hash(data_dir: &Path) -> String {
    let digest = Sha256::digest(data_dir.as_os_str().as_bytes());
    hex::encode(&digest[..8])
}

/// /var/lib/arkiter-lever, or `$TMPDIR/arkiter-lever` if that can't be made or
/// the postgres account cannot reach it.
fn root_cluster_base(run_as: &RunAs) -> Result<PathBuf, EmbeddedError> {
    let candidates = [
        PathBuf::from(ROOT_BASE),
        std::env::temp_dir().join("arkiter-lever"),
    ];
    for base in &candidates {
        match ensure_root_base(base) {
            Ok(()) if run_as.can_reach(base) => {
                if !base.starts_with(ROOT_BASE) {
                    tracing::warn!(base = %base.display(), "keeping the embedded PostgreSQL cluster in a temporary directory, which may be cleared on reboot");
                }
                return Ok(base.clone());
            }
            Ok(()) => tracing::debug!(base = %base.display(), "'postgres' cannot reach it"),
            Err(e) => tracing::debug!(error = %e, "not usable for the cluster"),
        }
    }
    let tried = candidates
        .iter()
        .map(|c| c.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(EmbeddedError::NoClusterLocation { tried })
}

/// A world-traversable (0755) directory owned by root. Refuses one that
/// someone else made or could write to, e.g. pre-created in /tmp.
fn ensure_root_base(base: &Path) -> Result<(), EmbeddedError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(base)
        .map_err(io_err("create", base))?;
    let meta = fs::symlink_metadata(base).map_err(io_err("inspect", base))?;
    if !meta.is_dir() || meta.uid() != geteuid().as_raw() || meta.mode() & 0o022 != 0 {
        return Err(EmbeddedError::UnsafeDirectory {
            path: base.to_path_buf(),
        });
    }
    Ok(())
}

/// A 0700 directory owned by the postgres account, in which initdb makes PGDATA.
fn ensure_private_dir(dir: &Path, run_as: &RunAs) -> Result<(), EmbeddedError> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("create", dir)(e)),
    }
    let meta = fs::symlink_metadata(dir).map_err(io_err("inspect", dir))?;
    if !meta.is_dir() {
        return Err(EmbeddedError::UnsafeDirectory {
            path: dir.to_path_buf(),
        });
    }
    give_to(dir, Some(run_as), 0o700)
}

/// A fresh private directory for a throwaway cluster; removed on drop.
#[derive(Debug)]
pub(super) struct TempRoot {
    path: PathBuf,
}

impl TempRoot {
    pub(super) fn create(run_as: Option<&RunAs>) -> Result<Self, EmbeddedError> {
        let mut base = std::env::temp_dir();
        if run_as.is_some_and(|r| !r.can_reach(&base)) {
            // e.g. TMPDIR under /root: postgres could not enter it.
            base = PathBuf::from("/tmp");
        }
        loop {
            let path = base.join(format!("arkiter-pg-{}", random_hex(6)));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let root = Self { path };
                    give_to(&root.path, run_as, 0o700)?;
                    return Ok(root);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("create", &path)(e)),
            }
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory, reporting failure (drop only logs it).
    pub(super) fn remove(mut self) -> Result<(), EmbeddedError> {
        let path = std::mem::take(&mut self.path);
        fs::remove_dir_all(&path).map_err(io_err("remove", &path))
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        // An empty path means remove() already did the work.
        if self.path.as_os_str().is_empty() {
            return;
        }
        if let Err(e) = fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove temporary cluster");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch() -> TempRoot {
        TempRoot::create(None).unwrap()
    }

    #[test]
    fn only_clusters_we_make_are_handed_to_postgres() {
        let ours = Path::new("/var/lib/arkiter-lever/0123456789abcdef/pg");
        assert!(cluster_dirs(ours).is_some());
        for damaged in [
            "/etc/pg",
            "/pg",
            "pg",
            "/var/lib/arkiter-lever/nothex!!nothex!/pg",
            "/x/0123456789abcdef/pg",
        ] {
            assert!(cluster_dirs(Path::new(damaged)).is_none(), "{damaged}");
        }
    }

    #[test]
    fn cluster_made_as_root_is_not_silently_replaced_by_a_non_root_run() {
        let dir = scratch();
        let pgdata = Path::new("/var/lib/arkiter-lever/0123456789abcdef/pg");
        write_pointer(&dir.path().join(POINTER_FILE), pgdata).unwrap();
        let err = persistent_pgdata(dir.path(), None).unwrap_err();
        assert!(matches!(err, EmbeddedError::CreatedByRoot { .. }), "{err}");
    }

    #[test]
    fn cluster_made_as_non_root_is_not_silently_replaced_by_a_root_run() {
        let dir = scratch();
        fs::create_dir(dir.path().join("pg")).unwrap();
        let run_as = RunAs {
            uid: Uid::from_raw(101),
            gid: Gid::from_raw(104),
        };
        let err = persistent_pgdata(dir.path(), Some(&run_as)).unwrap_err();
        assert!(
            matches!(err, EmbeddedError::CreatedByNonRoot { .. }),
            "{err}"
        );
    }
}
