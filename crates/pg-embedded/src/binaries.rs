//! Finding the PostgreSQL server binaries (`initdb`, `postgres`) on this machine.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::EmbeddedError;

/// Where Debian/Ubuntu install one directory per major version.
const VERSIONED_ROOT: &str = "/usr/lib/postgresql";

/// A directory holding both `initdb` and `postgres` of one installation.
#[derive(Debug, Clone)]
pub(super) struct Binaries {
    bindir: PathBuf,
}

impl Binaries {
    pub(super) fn initdb(&self) -> PathBuf {
        self.bindir.join("initdb")
    }

    pub(super) fn postgres(&self) -> PathBuf {
        self.bindir.join("postgres")
    }

    /// Whether `wal_compression` may be `lz4`: Postgres 15 or later (where
    /// the setting takes a method) built with LZ4, as its `pg_config`
    /// says; no when it cannot say.
    pub(super) fn wal_lz4(&self) -> bool {
        let ask = |arg: &str| {
            std::process::Command::new(self.bindir.join("pg_config"))
                .arg(arg)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let major = ask("--version")
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
            .unwrap_or(0);
        major >= 15 && ask("--configure").contains("--with-lz4")
    }
}

/// Finds the binaries: those of `cluster_major` first when an existing cluster
/// needs them (a cluster only runs on its own major version), then PATH, then
/// the highest version under /usr/lib/postgresql.
pub(super) fn find(cluster_major: Option<&str>) -> Result<Binaries, EmbeddedError> {
    find_in(
        std::env::var_os("PATH").as_deref(),
        Path::new(VERSIONED_ROOT),
        cluster_major,
    )
}

pub(super) fn find_in(
    path_var: Option<&OsStr>,
    versioned_root: &Path,
    cluster_major: Option<&str>,
) -> Result<Binaries, EmbeddedError> {
    let of_cluster = cluster_major
        .map(|major| versioned_root.join(major).join("bin"))
        .filter(|dir| is_bindir(dir));
    of_cluster
        .or_else(|| on_path(path_var))
        .or_else(|| highest_version(versioned_root))
        .map(|bindir| Binaries { bindir })
        .ok_or(EmbeddedError::NoBinaries)
}

fn on_path(path_var: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?).find_map(|dir| bindir_of(&dir.join("initdb")))
}

/// `initdb` on PATH is often a symlink (/usr/local/bin/initdb ->
/// /usr/lib/postgresql/15/bin/initdb), while `postgres` must come from the
/// same installation: so look next to the real file.
fn bindir_of(initdb: &Path) -> Option<PathBuf> {
    let real = fs::canonicalize(initdb).ok()?;
    let dir = real.parent()?;
    is_bindir(dir).then(|| dir.to_path_buf())
}

fn highest_version(versioned_root: &Path) -> Option<PathBuf> {
    fs::read_dir(versioned_root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = version_key(entry.file_name().to_str()?)?;
            let bindir = entry.path().join("bin");
            is_bindir(&bindir).then_some((version, bindir))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bindir)| bindir)
}

/// "9.6" -> [9, 6], "15" -> [15]: compared numerically, so 15 beats 9.6.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn is_bindir(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    fn fake_install(root: &Path, version: &str) -> PathBuf {
        let bin = root.join(version).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for name in ["initdb", "postgres"] {
            fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o755)
                .open(bin.join(name))
                .unwrap();
        }
        bin
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "arkiter-binaries-{name}-{}",
            super::super::files::random_hex(6)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn no_binaries_is_one_line_naming_the_fix() {
        let empty = scratch("empty");
        let err = find_in(Some(empty.as_os_str()), &empty.join("missing"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no PostgreSQL server binaries found (initdb/postgres on PATH or in /usr/lib/postgresql/*/bin): install the 'postgresql' package, or set DATABASE_URL"
        );
        assert!(!err.to_string().contains('\n'));
        fs::remove_dir_all(empty).unwrap();
    }

    #[test]
    fn picks_highest_version_numerically() {
        let root = scratch("versions");
        fake_install(&root, "9.6");
        let v16 = fake_install(&root, "16");
        fake_install(&root, "15");
        let found = find_in(None, &root, None).unwrap();
        assert_eq!(found.bindir, v16);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn existing_cluster_version_wins_over_newer() {
        let root = scratch("cluster");
        let v15 = fake_install(&root, "15");
        fake_install(&root, "16");
        let found = find_in(None, &root, Some("15")).unwrap();
        assert_eq!(found.bindir, v15);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn path_symlink_resolves_to_its_installation() {
        let root = scratch("path");
        let v15 = fake_install(&root, "15");
        let on_path = root.join("usrbin");
        fs::create_dir_all(&on_path).unwrap();
        std::os::unix::fs::symlink(v15.join("initdb"), on_path.join("initdb")).unwrap();
        let found = find_in(Some(on_path.as_os_str()), &root.join("none"), None).unwrap();
        assert_eq!(found.bindir, fs::canonicalize(v15).unwrap());
        fs::remove_dir_all(root).unwrap();
    }
}
