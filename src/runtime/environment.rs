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
const FOLDERS: [&str; 6] = [
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "TMPDIR",
    "TMP",
    "TEMP",
];

/// What to change in this process's environment: for everyone, ONNX Runtime's telemetry off;
/// as root, HOME is root's, the folder variables go, and PATH keeps only folders that root
/// owns and nobody else can write (those that sudo's secure_path would list, wherever a
/// distribution puts them).
pub fn start_environment() -> Vec<Change> {
    let mut changes: Vec<Change> = vec![("ORT_DISABLE_TELEMETRY", Some("1".into()))];
    if rustix::process::geteuid().is_root() {
        let home = root_home().unwrap_or_else(|| "/root".into());
        changes.push(("HOME", Some(home.into())));
        changes.extend(FOLDERS.iter().map(|v| (*v, None)));
        let path = std::env::var_os("PATH").unwrap_or_default();
        changes.push(("PATH", Some(root_path(&path))));
    }
    changes
}

/// The folders of `path` that root may run programs from: each real, root-owned and not
/// writable by group or others, as every folder above it ([`facegate_proto::trust`]).
pub fn root_path(path: &std::ffi::OsStr) -> OsString {
    let kept: Vec<PathBuf> = std::env::split_paths(path)
        .filter(|dir| dir.is_absolute() && trusted_folder(dir))
        .collect();
    std::env::join_paths(kept).unwrap_or_default()
}

fn trusted_folder(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    meta.is_dir()
        && facegate_proto::trust::check_owner(dir, meta.uid(), meta.mode(), true).is_ok()
        && facegate_proto::trust::check_parents(dir).is_ok()
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
        let linked = t.path().join("linked");
        std::os::unix::fs::symlink("/usr/bin", &linked).unwrap();
        let path = std::env::join_paths([
            Path::new("/usr/bin"),
            &open,
            &linked,
            Path::new("relative/bin"),
            Path::new("/nonexistent/bin"),
        ])
        .unwrap();
        let kept = root_path(&path);
        println!("{path:?} -> {kept:?}");
        let kept: Vec<PathBuf> = std::env::split_paths(&kept).collect();
        // /usr/bin is root's wherever the tests run; the rest is refused by what it is.
        assert_eq!(kept, vec![PathBuf::from("/usr/bin")]);
    }
}
