//! The process environment FaceGate starts with, made safe before anything reads it (`main`
//! applies [`start_environment`] before any thread exists).
//!
//! ONNX Runtime writes a device-id database under `~/.cache` and a `.ses` file in `$TMPDIR` as
//! it loads, chmodding and following links there (red team S27-F5, N3);
//! `ORT_DISABLE_TELEMETRY` stops both, for every user. And as root, what the environment names
//! is root's own, whoever's environment came along (`sudo -E`, an `env_keep`): a user's HOME,
//! XDG folders or temporary folder would have root create files through that user's links, and
//! a folder on PATH that a user can write would choose the ffmpeg a root daemon runs for a
//! replay.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A variable to set (`Some`) or remove (`None`).
pub type Change = (&'static str, Option<OsString>);

/// Variables naming a cache, data, config or temporary folder, which root does not take from
/// whoever started it.
const FOLDERS: [&str; 7] = [
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "TMPDIR",
    "TMP",
    "TEMP",
    "TEMPDIR",
];

/// What to change in this process's environment: for every run of the binary, ONNX Runtime's
/// telemetry off; as root, HOME is root's, the folder variables go, and PATH keeps only the
/// folders that root alone can write ([`root_path`]; none left: PATH goes, and programs are
/// looked for in the C library's default, /bin and /usr/bin).
pub fn start_environment() -> Vec<Change> {
    let mut changes: Vec<Change> = vec![("ORT_DISABLE_TELEMETRY", Some("1".into()))];
    if rustix::process::geteuid().is_root() {
        let home = root_home().unwrap_or_else(|| "/root".into());
        changes.push(("HOME", Some(home.into())));
        changes.extend(FOLDERS.iter().map(|v| (*v, None)));
        let path = std::env::var_os("PATH").unwrap_or_default();
        changes.push(("PATH", root_path(&path)));
    }
    changes
}

/// A command for a helper program (ffmpeg, ffprobe). As root it gets no environment but PATH
/// (as [`start_environment`] left it): the rest came from whoever started root, and ffmpeg
/// acts on some of it; `FFREPORT=file=…` had a root daemon truncate and write a root-only file
/// through a user's link (red team, session 29: R6-3).
pub fn helper(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    if rustix::process::geteuid().is_root() {
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
    }
    command
}

/// The folders of `path` that root may run programs from, each by its real path: it and every
/// folder above it belong to root, and nobody else can write it (a sticky /tmp neither: anyone
/// may put a program there) nor a folder above it (but for sticky ones, [`facegate_proto::trust`]).
/// A link on PATH is followed once, here, and its target kept: whoever owns the link cannot
/// point it elsewhere later (`link/` and `link/.` read through it). `None` when none is left.
pub fn root_path(path: &std::ffi::OsStr) -> Option<OsString> {
    let mut kept: Vec<PathBuf> = Vec::new();
    for dir in std::env::split_paths(path).filter(|d| d.is_absolute()) {
        if let Some(real) = trusted_folder(&dir)
            && !kept.contains(&real)
        {
            kept.push(real);
        }
    }
    if kept.is_empty() {
        return None;
    }
    std::env::join_paths(kept).ok()
}

/// `dir`'s real path, if root alone can write it and every folder above it.
fn trusted_folder(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(dir).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    let trusted = meta.is_dir()
        && facegate_proto::trust::check_owner(&real, meta.uid(), meta.mode(), false).is_ok()
        && facegate_proto::trust::check_parents(&real).is_ok();
    trusted.then_some(real)
}

/// Root's home (from the password database): a root process with a user's `HOME` had ONNX
/// Runtime create and chmod files through that user's links (red team S27-F5).
pub fn root_home() -> Option<PathBuf> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(0))
        .ok()
        .flatten()
        .map(|u| u.dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keeps_only_folders_root_alone_can_write() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        // A link to an open folder, read through with a trailing slash or a dot.
        let linked = t.path().join("linked");
        std::os::unix::fs::symlink(&open, &linked).unwrap();
        let slashed = PathBuf::from(format!("{}/", linked.display()));
        let path = std::env::join_paths([
            Path::new("/usr/bin"),
            &open,
            &slashed,
            &linked.join("."),
            Path::new("/tmp"),
            Path::new("relative/bin"),
            Path::new("/nonexistent/bin"),
            Path::new("/usr/bin/"),
        ])
        .unwrap();
        let kept = root_path(&path).unwrap();
        println!("{path:?} -> {kept:?}");
        let kept: Vec<PathBuf> = std::env::split_paths(&kept).collect();
        // /usr/bin is root's wherever the tests run (its real path, once); the rest is refused
        // by what it is, a sticky /tmp included.
        let usr_bin = std::fs::canonicalize("/usr/bin").unwrap();
        assert_eq!(kept, vec![usr_bin]);
        assert_eq!(root_path(&open.clone().into_os_string()), None);
    }

    /// As root, a helper sees PATH and nothing else of the environment it was started with
    /// (this test process's own, as `sudo -E` would pass a user's).
    #[test]
    fn a_helper_run_by_root_gets_only_path() {
        if !rustix::process::geteuid().is_root() {
            println!("NOTICE: not root; a helper keeps the user's environment; skipping");
            return;
        }
        let seen = helper("env").output().unwrap();
        let seen = String::from_utf8_lossy(&seen.stdout);
        println!("a helper's environment as root: {seen:?}");
        let names: Vec<&str> = seen.lines().filter_map(|l| l.split('=').next()).collect();
        assert!(names.iter().all(|n| *n == "PATH"), "{names:?}");
    }
}
