//! Reading a file only root can have written: the system config says which socket to trust, how
//! long to wait and (for the daemon) whose faces open the door, so whoever can write it or any
//! folder above it decides who gets in. The PAM module and the daemon share this check.
//!
//! The rule: the file and every folder above it belong to root and are not writable by group or
//! others; a sticky folder (such as /tmp) is allowed, since nobody else can rename or remove what
//! root put there, and no file system a user serves lies on the way (where root's folder in a
//! sticky one has gone, a user could mount one at its name that reports root as its owner). The file itself must be a regular file, not a link, and is checked on the
//! opened descriptor, so it cannot be swapped between the check and the read.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a file was not trusted.
#[derive(Debug)]
pub enum TrustError {
    /// Someone other than root could have written it (or it is a link, or not a file).
    Unsafe { path: PathBuf, why: String },
    /// It could not be read at all.
    Io { path: PathBuf, source: io::Error },
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Each reason begins with its verb ("is writable…"): "config.toml: is…" read
            // oddly (journey s39 #15).
            TrustError::Unsafe { path, why } => write!(f, "{} {why}", path.display()),
            TrustError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for TrustError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TrustError::Io { source, .. } => Some(source),
            TrustError::Unsafe { .. } => None,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> TrustError + '_ {
    move |source| TrustError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads `path` (at most `max_bytes`; a longer file is refused, not cut) after checking it and
/// every folder above it with [`check_parents`] and [`check_owner`].
pub fn read_root_owned(path: &Path, max_bytes: u64) -> Result<String, TrustError> {
    check_parents(path)?;
    // O_NOFOLLOW: a link is refused, not followed (whoever planted it chose its target).
    // O_NONBLOCK: a FIFO put in the file's place cannot make the caller wait forever.
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                TrustError::Unsafe {
                    path: path.to_owned(),
                    why: "is a symbolic link; it must be a plain root-owned file".into(),
                }
            } else {
                io_error(path)(e)
            }
        })?;
    check_opened(path, file.as_fd())?;
    // fstat on the descriptor just opened: what is read is what was checked.
    let meta = file.metadata().map_err(io_error(path))?;
    if !meta.file_type().is_file() {
        return Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: "is not a regular file".into(),
        });
    }
    check_owner(path, meta.uid(), meta.mode(), false)?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > max_bytes {
        return Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: format!("is longer than {max_bytes} bytes"),
        });
    }
    String::from_utf8(bytes).map_err(|_| TrustError::Unsafe {
        path: path.to_owned(),
        why: "is not UTF-8 text".into(),
    })
}

/// Every folder above `path` (made absolute first) is a real folder, not a symbolic link,
/// belongs to root and is not writable by group or others, unless sticky; and neither they nor
/// `path` itself are a file system a user serves ([`crate::mounts`]). A link is refused rather
/// than followed: where it points, the folders above the target would need the same checks,
/// and a link is never needed for the few paths this guards.
///
/// The folders are looked at from `/` down, each only once those above it passed: a link
/// among them is refused before anything is looked up through it. A user's FUSE mount is
/// refused from the mount table before it is looked at: its server reports any owner it likes
/// (root's, on a name in /tmp whose root-owned folder was cleaned away), and can leave the look
/// unanswered for good (red team s41 F1, F2: it unlocked root, and hung `sudo`).
pub fn check_parents(path: &Path) -> Result<(), TrustError> {
    let absolute = std::path::absolute(path).map_err(io_error(path))?;
    if absolute
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: "holds `..`; give the path without it".into(),
        });
    }
    let served = crate::mounts::users_served().map_err(|why| TrustError::Unsafe {
        path: path.to_owned(),
        why: format!("cannot be checked: {why}"),
    })?;
    check_parents_beside(&absolute, &served)
}

/// [`check_parents`] of an `absolute` path without `..`, with `served` the file systems users
/// serve.
fn check_parents_beside(
    absolute: &Path,
    served: &[crate::mounts::Mount],
) -> Result<(), TrustError> {
    let mut down: Vec<&Path> = absolute.ancestors().collect();
    down.reverse();
    for at in down {
        if let Some(mount) = served.iter().find(|m| m.point == at) {
            return Err(users_mount(at, mount));
        }
        if at == absolute {
            break;
        }
        // lstat: a link is judged as the link it is.
        let meta = std::fs::symlink_metadata(at).map_err(io_error(at))?;
        if !meta.file_type().is_dir() {
            return Err(TrustError::Unsafe {
                path: at.to_owned(),
                why: "is a symbolic link or not a folder; face unlock follows no links: give \
                      the real path (e.g. /run, not /var/run)"
                    .into(),
            });
        }
        check_owner(at, meta.uid(), meta.mode(), true)?;
    }
    Ok(())
}

/// Why `path`, on `mount`, a file system a user serves, is refused.
pub fn users_mount(path: &Path, mount: &crate::mounts::Mount) -> TrustError {
    TrustError::Unsafe {
        path: path.to_owned(),
        why: format!(
            "is on a {} file system that {} (mounted at {}): its server chooses the owner it \
             reports and can leave a read unanswered, so face unlock reads nothing on it; use a \
             folder on a local disk, such as /etc/facegate or /var/lib/facegate",
            mount.fstype,
            mount.served_by(),
            mount.point.display()
        ),
    }
}

/// The mount `fd` (opened as `path`) is on is not a user's, nor detached since: the path's
/// check could not see one made there between it and the open (retest s41 N1, N3).
pub fn check_opened(path: &Path, fd: std::os::fd::BorrowedFd<'_>) -> Result<(), TrustError> {
    match crate::mounts::users_mount_of(fd) {
        Ok(None) => Ok(()),
        Ok(Some(not)) => Err(opened_on(path, &not)),
        Err(why) => Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: format!("cannot be checked: {why}"),
        }),
    }
}

/// Why `path`, opened on a file system that is not root's to trust, is refused.
fn opened_on(path: &Path, not: &crate::mounts::NotRoots) -> TrustError {
    match not {
        crate::mounts::NotRoots::Users(mount) => users_mount(path, mount),
        crate::mounts::NotRoots::Detached => TrustError::Unsafe {
            path: path.to_owned(),
            why: "was opened on a mount detached since (`umount -l`), which no longer says whose \
                  it is, so face unlock reads nothing on it"
                .into(),
        },
    }
}

/// The daemon's socket as the PAM module is about to connect to it: a socket (not a link to one:
/// in a sticky folder such as /tmp another user may plant a link, though never replace root's
/// own entry) that root owns, in folders [`check_parents`] trusts. Its mode is not judged: users
/// must be able to connect, and the daemon's peer credentials are checked once connected.
pub fn check_socket(path: &Path) -> Result<(), TrustError> {
    // The folders (and the mount table) first: a look at a socket on a user's mount waited on
    // its server for good (diff review s41 #2).
    check_parents(path)?;
    let meta = std::fs::symlink_metadata(path).map_err(io_error(path))?;
    if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
        return Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: "is a symbolic link or not a socket: face unlock follows no links".into(),
        });
    }
    root_owned(path, meta.uid())
}

/// Root owns it (`uid` 0).
fn root_owned(path: &Path, uid: u32) -> Result<(), TrustError> {
    if uid != 0 {
        return Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: format!(
                "belongs to uid {uid}, not root: face unlock refuses anything another user controls"
            ),
        });
    }
    Ok(())
}

/// Whether someone besides the owner can change what a file or folder of `mode` holds: group
/// or others may write it, and it is not a sticky `folder` (where each keeps to their own
/// names). Whoever can write it decides what a root process that trusts its owner reads.
pub fn others_can_write(mode: u32, folder: bool) -> bool {
    let sticky = folder && mode & 0o1000 != 0;
    mode & 0o022 != 0 && !sticky
}

/// Root owns it (`uid` 0), and group and others cannot write it (`mode`), except a sticky
/// `folder`.
pub fn check_owner(path: &Path, uid: u32, mode: u32, folder: bool) -> Result<(), TrustError> {
    root_owned(path, uid)?;
    if others_can_write(mode, folder) {
        // A sticky folder is shared on purpose (/tmp): `chmod go-w` would break it for
        // everyone else (final read s39 F10).
        let shared_folder = mode & 0o170000 == 0o040000 && mode & 0o1000 != 0;
        let remedy = match shared_folder {
            true => "it is a shared folder: choose one only root writes, e.g. /run/facegate",
            false => "`chmod go-w` it, if only root was meant to write it",
        };
        return Err(TrustError::Unsafe {
            path: path.to_owned(),
            why: format!(
                "is writable by group or others (mode {:o}), so face unlock refuses it ({remedy})",
                mode & 0o7777
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_or_a_dotdot_above_the_file_is_refused() {
        let base = std::env::temp_dir().join(format!("trust-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("real")).unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
        let err = check_parents(&base.join("link/config.toml")).unwrap_err();
        let dotdot = check_parents(Path::new("/etc/facegate/../config.toml")).unwrap_err();
        std::fs::remove_dir_all(&base).unwrap();
        println!("{err}\n{dotdot}");
        assert!(err.to_string().contains("link"), "{err}");
        assert!(err.to_string().contains("trust-link"), "{err}");
        assert!(dotdot.to_string().contains(".."), "{dotdot}");
    }

    /// A user's FUSE mount on the way, or at the path itself, is refused from the mount table,
    /// before anything at or under it is looked at: here the mount point does not even exist,
    /// and what is said is the mount, not "no such file" (red team s41 F1, F2).
    #[test]
    fn a_users_mount_on_the_way_is_refused_before_it_is_looked_at() {
        let users = |point: &str| crate::mounts::Mount {
            id: 90,
            point: point.into(),
            fstype: "fuse.bindfs".into(),
            user_id: Some(1002),
        };
        // On the way; and at the path itself (below folders that pass).
        for (path, point) in [
            (
                "/tmp/facegate-no-such-dir/cfg/config.toml",
                "/tmp/facegate-no-such-dir",
            ),
            ("/etc/facegate-no-such.toml", "/etc/facegate-no-such.toml"),
        ] {
            let err = check_parents_beside(Path::new(path), &[users(point)]).unwrap_err();
            println!("{err}");
            let said = err.to_string();
            assert!(
                said.starts_with(point)
                    && said.contains("is on a fuse.bindfs file system that uid 1002 serves"),
                "{said}"
            );
        }
        let config = Path::new("/tmp/facegate-no-such-dir/cfg/config.toml");
        // Elsewhere, it changes nothing: the folder is looked at, and is not there.
        let err = check_parents_beside(config, &[users("/mnt/x")]).unwrap_err();
        assert!(matches!(err, TrustError::Io { .. }), "{err}");
        // A link above is refused before anything is looked up through it.
        let base = std::env::temp_dir().join(format!("trust-down-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::os::unix::fs::symlink("/nonexistent-target", base.join("link")).unwrap();
        let err = check_parents_beside(&base.join("link/a/b/config.toml"), &[]).unwrap_err();
        std::fs::remove_dir_all(&base).unwrap();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn owner_and_mode_rules() {
        let p = Path::new("/x");
        assert!(check_owner(p, 0, 0o100644, false).is_ok());
        assert!(check_owner(p, 1000, 0o100644, false).is_err());
        assert!(check_owner(p, 0, 0o100664, false).is_err());
        assert!(check_owner(p, 0, 0o100646, false).is_err());
        // Sticky helps a folder (/tmp), never a file.
        assert!(check_owner(p, 0, 0o41777, true).is_ok());
        assert!(check_owner(p, 0, 0o101666, false).is_err());
        assert!(check_owner(p, 0, 0o40777, true).is_err());
    }

    #[test]
    fn only_a_socket_itself_is_connected_to() {
        let dir = std::env::temp_dir().join(format!("facegate-proto-sock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let sock = dir.join("d.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let link = dir.join("link.sock");
        std::os::unix::fs::symlink(&sock, &link).unwrap();
        let file = dir.join("file.sock");
        std::fs::write(&file, b"").unwrap();
        for refused in [&link, &file, &dir.join("missing.sock")] {
            let err = check_socket(refused).unwrap_err();
            println!("{err}");
        }
        assert!(
            check_socket(&link)
                .unwrap_err()
                .to_string()
                .contains("link")
        );
        // Root's own socket in root's folders (the temp folder is root's only when root runs
        // the tests).
        let root = std::fs::metadata(&dir).unwrap().uid() == 0;
        assert_eq!(check_socket(&sock).is_ok(), root);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn links_and_missing_files_are_refused() {
        // Whoever runs the tests, a link is refused before its owner matters.
        let dir = std::env::temp_dir().join(format!("facegate-proto-trust-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let link = dir.join("link.toml");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let err = read_root_owned(&link, 1024).unwrap_err();
        assert!(
            err.to_string().contains("link") || err.to_string().contains("root"),
            "{err}"
        );
        assert!(read_root_owned(&dir.join("missing.toml"), 1024).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
