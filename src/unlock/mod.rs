//! System face unlock: a thin PAM module with no secrets asks a root daemon for yes or no, and
//! everything the daemon trusts is root-owned ([`config`]: `/etc/facegate/config.toml`, the store
//! in `/var/lib/facegate`). The user's own FaceGate data is never read on this path: the person
//! being authenticated must not decide the faces, thresholds or lock-out that gate `sudo`.
//!
//! - [`config`]: the system config, read only after ownership checks on it and its folders;
//! - [`account`]: the uid an enrolment was made for, so a name reused by a new account is not
//!   unlocked by the old one's face;
//! - [`daemon`]: `facegate daemon`, one attempt at a time over a Unix socket (protocol in the
//!   `facegate-proto` crate, shared with the PAM module);
//! - `gate`: what is answered without the camera (not enrolled, locked out, paused), at once;
//! - [`caller`]: who is behind a connection (the user who started it, also for `su`);
//! - [`turns`]: how much of the daemon one caller may hold (readers per uid, one attempt per
//!   account);
//! - `procfs`: what both read about a caller's process;
//! - `subids`: subordinate uids (rootless containers), counted as the user who owns them;
//! - [`remote`]: whether the caller was started from another machine (an SSH login), which
//!   PAM_RHOST alone does not tell for `sudo`;
//! - [`userfs`]: whether a path root reads lies on a file system a user serves (FUSE).

pub mod account;
pub mod caller;
pub mod config;
pub mod daemon;
pub mod gate;
mod hush;
mod procfs;
pub mod remote;
mod subids;
pub mod turns;
pub mod userfs;

pub use config::SystemConfig;
pub use daemon::Daemon;

/// The command that enrols `account` for system face unlock from `person`'s verification images
/// in the desk store at `data_dir`, run as `facegate` (an absolute path, or the bare name for
/// sudo's own PATH): what the app runs through `pkexec`, or shows to be run.
pub fn enrol_command(
    facegate: &str,
    account: &str,
    data_dir: &std::path::Path,
    person: &str,
) -> Vec<String> {
    vec![
        facegate.into(),
        "unlock".into(),
        "enrol".into(),
        account.into(),
        "--from-user-store".into(),
        data_dir.display().to_string(),
        "--person".into(),
        person.into(),
    ]
}

/// The facegate an administrator may be asked to run as root: the running one where it and
/// every folder above it are root's alone, else the installed one where that is. A copy of the
/// user's own (~/bin/facegate) was run through pkexec, so the admin's password ran a file the
/// user can change (red team s38 F3). `Err`: the running one, and why it is not.
pub fn roots_own_facegate() -> Result<std::path::PathBuf, String> {
    let running = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    let why = match roots_alone(&running) {
        Ok(()) => return Ok(running),
        Err(why) => why,
    };
    let installed = std::path::Path::new(INSTALLED);
    match roots_alone(installed) {
        Ok(()) => Ok(installed.to_owned()),
        Err(_) => {
            tracing::debug!("{}: {why}", crate::shown::Shown(&running));
            Err(format!(
                "{} is not a file only root can change",
                crate::shown::Shown(&running)
            ))
        }
    }
}

/// Where the package installs the binary.
pub const INSTALLED: &str = "/usr/bin/facegate";

/// `path` is a plain file of root's that only root can write, in folders of root's alone.
fn roots_alone(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("is not a plain file".into());
    }
    facegate_proto::trust::check_owner(path, meta.uid(), meta.mode(), false)
        .and_then(|()| facegate_proto::trust::check_parents(path))
        .map_err(|e| format!("is not root's alone ({e})"))
}

/// What the window says once [`enrol_command`] succeeded: face unlock is on, each image the
/// enrolment turned down beside those it kept (by its file's name: the copies it imports are
/// named by the images' ids), its warnings, and how PAM is told to use it. "Face unlock is on"
/// alone hid an image turned down (design review s32 D3).
pub fn enrolled_said(account: &str, out: &std::process::Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let turned_down: Vec<String> = stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|line| line.strip_prefix(crate::shown::REFUSED))
        .filter_map(|rest| rest.split_once(": "))
        .map(|(file, why)| {
            let name = std::path::Path::new(file)
                .file_stem()
                .map(|n| n.to_string_lossy());
            format!("{}: {why}", name.unwrap_or(file.into()))
        })
        .collect();
    let mut said = format!("face unlock is on for {account}");
    if !turned_down.is_empty() {
        let counted = crate::shown::counted(turned_down.len(), "image was", "images were");
        said.push_str(&format!(
            "; {counted} turned down ({})",
            turned_down.join("; ")
        ));
    }
    for warning in stderr.lines().filter_map(|l| l.strip_prefix("warning: ")) {
        said.push_str(&format!("; {warning}"));
    }
    said.push_str(" (enable it in PAM with `sudo pam-auth-update --enable facegate`)");
    said
}

/// The name of the account running this process.
pub fn current_account() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A facegate others can write is never the one run as root; one of root's alone is (when
    /// this runs as root, in /tmp, whose sticky bit keeps root's entry root's).
    #[test]
    fn only_a_facegate_of_roots_alone_is_run_as_root() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("facegate");
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = roots_alone(&exe).unwrap_err();
        println!("0777: {why}");
        assert!(why.contains("is not root's alone"), "{why}");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let as_root = rustix::process::geteuid().is_root();
        let in_tmp = dir.path().parent() == Some(std::path::Path::new("/tmp"));
        match roots_alone(&exe) {
            Ok(()) => assert!(
                as_root,
                "a file of uid {} passed",
                rustix::process::geteuid().as_raw()
            ),
            Err(why) => {
                println!("0755: {why}");
                assert!(!(as_root && in_tmp), "{why}");
            }
        }
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&exe, &link).unwrap();
        assert_eq!(roots_alone(&link).unwrap_err(), "is not a plain file");
    }
}
