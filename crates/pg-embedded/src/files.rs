//! Small private files in the data directory: the superuser password of the
//! persistent cluster, and the lock that says a service is using it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use rand::Rng;
use rand::distributions::Alphanumeric;

use super::{EmbeddedError, io_err};

const PASSWORD_FILE: &str = "postgres.password";
const LOCK_FILE: &str = "postgres.lock";

/// An exclusive `flock` on `DATA_DIR/postgres.lock`, released by the kernel
/// when the process dies, so a leftover server can be told from a live one.
#[derive(Debug)]
pub(super) struct DataDirLock {
    _lock: Flock<File>,
}

impl DataDirLock {
    pub(super) fn acquire(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err("open the lock file", &path))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Self { _lock: lock }),
            Err((_, Errno::EWOULDBLOCK)) => Err(EmbeddedError::InUse {
                data_dir: data_dir.to_path_buf(),
                lock_file: path,
            }),
            Err((_, errno)) => Err(io_err("lock", &path)(errno.into())),
        }
    }
}

/// The password of the persistent cluster, from `DATA_DIR/postgres.password`
/// (0600, owned by whoever runs the service), made up on first start.
pub(super) fn persistent_password(
    data_dir: &Path,
    pgdata: &Path,
    cluster_exists: bool,
) -> Result<String, EmbeddedError> {
    let path = data_dir.join(PASSWORD_FILE);
    match fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            // Tighten a file someone loosened; the password is a superuser's.
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .map_err(io_err("set permissions of", &path))?;
            Ok(text.trim().to_string())
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("read", &path)(e)),
        _ if cluster_exists => Err(EmbeddedError::PasswordMissing {
            pgdata: pgdata.to_path_buf(),
            password_file: path,
        }),
        _ => {
            let password = random_password();
            write_private_file(&path, password.as_bytes())?;
            Ok(password)
        }
    }
}

/// 32 alphanumerics (~190 bits): safe in a URL without escaping.
pub(super) fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

pub(super) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// Writes a 0600 file atomically (temp file + rename), so a crash never
/// leaves a half-written password behind.
pub(super) fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), EmbeddedError> {
    let tmp = path.with_extension(format!("tmp-{}", random_hex(4)));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(io_err("write", path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::layout::TempRoot;
    use super::*;

    #[test]
    fn password_is_private_and_required_for_an_existing_cluster() {
        let dir = TempRoot::create(None).unwrap();
        let pgdata = dir.path().join("pg");
        let err = persistent_password(dir.path(), &pgdata, true).unwrap_err();
        assert!(
            matches!(err, EmbeddedError::PasswordMissing { .. }),
            "{err}"
        );
        let password = persistent_password(dir.path(), &pgdata, false).unwrap();
        assert_eq!(password.len(), 32);
        let meta = fs::metadata(dir.path().join(PASSWORD_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            persistent_password(dir.path(), &pgdata, true).unwrap(),
            password
        );
    }
}
