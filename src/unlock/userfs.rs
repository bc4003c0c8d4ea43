//! Whether a path root is about to read lies on a file system another user serves: a FUSE mount
//! of theirs (`allow_other`), whose server can leave root's read unanswered, and root's
//! `unlock enrol` then sleeps where not even SIGKILL ends it until the user lets it go (red team
//! s38 F2). Told from the kernel's mount table alone, before anything on the path is touched:
//! a `stat` of such a mount's root already waits on its server.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

/// A mount whose file system a user other than root serves.
#[derive(Debug, PartialEq)]
struct Served {
    point: PathBuf,
    fstype: String,
    uid: Option<u32>,
}

/// The mounts the calling thread sees (`/proc/self` is the process's first thread).
const MOUNT_TABLE: &str = "/proc/thread-self/mountinfo";

/// Keeps every file system a user serves out of what the calling thread (and the threads it
/// starts later) can reach: in a mount namespace of its own ([`private_mounts`]), those there
/// now are set aside, and none mounted later comes in. Checking paths against the mount table
/// alone left two ways in: a mount made after the check, and one already there, moved into a
/// checked folder by renaming the folder it is in (review s39 M1); no check of a path sees
/// either. Called before any other thread starts, as root.
///
/// Err, for the caller to refuse on (fails closed), where that cannot be done and a user could
/// mount one: the kernel refuses a namespace (a container without CAP_SYS_ADMIN) and
/// `/dev/fuse` exists, or a mount will not be set aside. Without `/dev/fuse` no user can mount
/// one, and [`served_by_a_user`] still refuses any path on one there is.
pub fn keep_users_mounts_out() -> Result<(), String> {
    if let Err(e) = private_mounts() {
        return match std::path::Path::new("/dev/fuse").exists() {
            true => Err(format!(
                "a mount namespace of its own cannot be made ({e}), and without one a file \
                 system a user mounts (/dev/fuse is there) could leave root's read unanswered"
            )),
            false => Ok(()),
        };
    }
    let read = || std::fs::read(MOUNT_TABLE).map_err(|e| format!("{MOUNT_TABLE}: {e}"));
    set_aside(user_served(&read()?).into_iter().map(|m| m.point).collect());
    match user_served(&read()?).first() {
        None => Ok(()),
        Some(left) => Err(format!(
            "a {} file system a user serves, at {}, cannot be set aside",
            left.fstype,
            crate::shown::Shown(&left.point)
        )),
    }
}

/// Detaches the mounts at `points` from the calling thread's mount namespace, outer ones
/// first: setting one aside takes those inside it too, and its path is then not walked through
/// a user's server to reach the inner ones. One that will not go (gone with an outer one, or no
/// longer a mount at that path) is left for the caller's look at the table to find.
fn set_aside(mut points: Vec<PathBuf>) {
    use rustix::mount::UnmountFlags;
    points.sort_by_key(|p| p.components().count());
    for point in &points {
        let _ = rustix::mount::unmount(point, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW);
    }
}

/// Gives the calling thread a mount namespace of its own into which no mount made elsewhere
/// propagates: a FUSE file system a user mounts over a folder afterwards is mounted where this
/// thread does not look. Only the calling thread moves (and the threads it starts later), so it
/// is called before any other starts.
fn private_mounts() -> std::io::Result<()> {
    use rustix::mount::MountPropagationFlags;
    // SAFETY: the function is unsafe for UnshareFlags::FILES (threads left with file descriptor
    // tables apart); NEWNS unshares the mount namespace and the working folder alone.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }?;
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )?;
    Ok(())
}

/// Why the first of `paths` that lies on a file system a user serves must not be read as root:
/// its links followed one by one, each folder on the way compared with the mount table (read
/// once for all of them) before it is looked at. None where no user serves a file system at all
/// (nothing is walked).
pub fn served_by_a_user<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Option<String> {
    // Unread, the table cannot say any path is safe: refused (fails closed). The thread's own,
    // not the process's: after private_mounts they differ where the check runs on another.
    let table = match std::fs::read(MOUNT_TABLE) {
        Ok(table) => table,
        Err(e) => {
            return Some(format!(
                "the mount table ({MOUNT_TABLE}) cannot be read ({e}), so whether a path is on a \
                 file system a user serves cannot be told"
            ));
        }
    };
    let served = user_served(&table);
    if served.is_empty() {
        return None;
    }
    paths.into_iter().find_map(|path| {
        let mount = reaches(path, &served)?;
        Some(format!(
            "{} is on a {} file system that {} serves (mounted at {}), which could leave root's \
             read unanswered for good; copy the photos to a folder on a local disk",
            crate::shown::Shown(path),
            mount.fstype,
            mount
                .uid
                .map_or("a user".to_owned(), |uid| format!("uid {uid}")),
            crate::shown::Shown(&mount.point)
        ))
    })
}

/// The mount of `served` that `path` reaches, its links followed by name one by one (each folder
/// on the way compared with the mounts before it is looked at), or that lies inside it.
fn reaches<'a>(path: &Path, served: &'a [Served]) -> Option<&'a Served> {
    let absolute = match path.is_absolute() {
        true => path.to_owned(),
        false => std::env::current_dir().ok()?.join(path),
    };
    let mut todo: VecDeque<OsString> = parts(&absolute);
    let mut at = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&part);
        if let Some(mount) = served.iter().find(|m| m.point == next) {
            return Some(mount);
        }
        match std::fs::read_link(&next) {
            // Past 40 links the open that follows fails on its own (ELOOP).
            Ok(target) if links < 40 => {
                links += 1;
                if target.is_absolute() {
                    at = PathBuf::from("/");
                }
                for p in parts(&target).into_iter().rev() {
                    todo.push_front(p);
                }
            }
            _ => at = next,
        }
    }
    // A folder with such a mount inside it: listing it walks into the mount.
    served.iter().find(|m| m.point.starts_with(&at))
}

/// `path`'s named parts, `.` left out.
fn parts(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// The mounts of `/proc/self/mountinfo` (`table`) served by a user: FUSE ones not root's
/// (`user_id=` in their options; one without it is taken as a user's).
fn user_served(table: &[u8]) -> Vec<Served> {
    table
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let dash = fields.iter().position(|f| *f == b"-")?;
            let point = PathBuf::from(OsString::from_vec(unescape(fields.get(4)?)));
            let fstype = String::from_utf8_lossy(fields.get(dash + 1)?).into_owned();
            let options = String::from_utf8_lossy(fields.get(dash + 3).unwrap_or(&&b""[..]));
            let uid = options
                .split(',')
                .find_map(|o| o.strip_prefix("user_id="))
                .and_then(|u| u.parse().ok());
            (fstype.starts_with("fuse") && uid != Some(0)).then_some(Served { point, fstype, uid })
        })
        .collect()
}

/// A mount point as the table writes it: a space, tab, newline or backslash as `\040` and so
/// on, in octal.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[u8] = b"\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
90 22 0:50 / /home/ann/My\\040fuse rw,nosuid,nodev shared:60 - fuse.sshfs ann@host: rw,user_id=1001,group_id=1001,allow_other
91 22 0:51 / /mnt/ntfs rw - fuseblk /dev/sdb1 rw,user_id=0,group_id=0,allow_other
92 22 0:52 / /run/user/1001/doc rw - fuse.portal portal rw,user_id=1001,group_id=1001
";

    #[test]
    fn a_users_fuse_mount_is_served_and_roots_is_not() {
        let served = user_served(TABLE);
        println!("{served:?}");
        assert_eq!(served.len(), 2);
        assert_eq!(served[0].point, Path::new("/home/ann/My fuse"));
        assert_eq!(served[0].fstype, "fuse.sshfs");
        assert_eq!(served[0].uid, Some(1001));
        assert!(served.iter().all(|m| m.point != Path::new("/mnt/ntfs")));
        assert_eq!(unescape(b"a\\134b\\011"), b"a\\b\t");
        assert_eq!(unescape(b"a\\9"), b"a\\9");
    }

    /// A mount made outside after private_mounts is not seen inside it: one a user makes
    /// between the check and root's read lands where root does not look. Its effect is shown
    /// on a tmpfs (mounting needs root; FUSE is not needed to show where a mount is seen).
    /// The tmpfs is unmounted before any assertion.
    #[test]
    fn a_mount_made_after_private_mounts_is_not_seen() {
        if !rustix::process::geteuid().is_root() {
            println!("skipped: mounting needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let later = dir.path().join("later");
        std::fs::create_dir(&later).unwrap();
        let (entered, has_entered) = std::sync::mpsc::channel();
        let (mounted, has_mounted) = std::sync::mpsc::channel::<()>();
        // A thread of its own: only the thread that calls it moves.
        let inside = std::thread::spawn(move || {
            private_mounts().unwrap();
            entered.send(()).unwrap();
            has_mounted.recv().unwrap();
            std::fs::read(MOUNT_TABLE).unwrap()
        });
        has_entered.recv().unwrap();
        use rustix::mount::{MountFlags, UnmountFlags};
        rustix::mount::mount("facegate-test", &later, "tmpfs", MountFlags::empty(), None).unwrap();
        let outside = std::fs::read(MOUNT_TABLE).unwrap();
        mounted.send(()).unwrap();
        let inside = inside.join().unwrap();
        rustix::mount::unmount(&later, UnmountFlags::DETACH).unwrap();
        let seen = |table: &[u8]| {
            String::from_utf8_lossy(table)
                .lines()
                .any(|l| l.contains(later.to_str().unwrap()))
        };
        println!(
            "{} seen outside: {}, inside: {}",
            later.display(),
            seen(&outside),
            seen(&inside)
        );
        assert!(seen(&outside));
        assert!(!seen(&inside));
    }

    /// Mounts there before the namespace was made are set aside inside it (a mount inside
    /// another too), and stay outside: one already there could be moved into a checked folder
    /// by renaming the folder it is in. Shown on tmpfs, as above.
    #[test]
    fn mounts_there_before_are_set_aside_inside_only() {
        if !rustix::process::geteuid().is_root() {
            println!("skipped: mounting needs root");
            return;
        }
        use rustix::mount::{MountFlags, UnmountFlags};
        let dir = tempfile::tempdir().unwrap();
        let outer = dir.path().join("outer");
        std::fs::create_dir(&outer).unwrap();
        rustix::mount::mount("facegate-test", &outer, "tmpfs", MountFlags::empty(), None).unwrap();
        let inner = outer.join("inner");
        std::fs::create_dir(&inner).unwrap();
        rustix::mount::mount("facegate-test", &inner, "tmpfs", MountFlags::empty(), None).unwrap();
        let points = vec![inner.clone(), outer.clone()];
        let inside = std::thread::spawn(move || {
            private_mounts().unwrap();
            set_aside(points);
            std::fs::read(MOUNT_TABLE).unwrap()
        })
        .join()
        .unwrap();
        let outside = std::fs::read(MOUNT_TABLE).unwrap();
        let _ = rustix::mount::unmount(&outer, UnmountFlags::DETACH);
        let seen = |table: &[u8], p: &Path| {
            String::from_utf8_lossy(table)
                .lines()
                .any(|l| l.split(' ').nth(4) == p.to_str())
        };
        for p in [&outer, &inner] {
            println!(
                "{}: outside {}, inside {}",
                p.display(),
                seen(&outside, p),
                seen(&inside, p)
            );
            assert!(seen(&outside, p) && !seen(&inside, p));
        }
    }

    /// A link into a user's mount, and a `..` out of a folder, are followed by name to the
    /// mount; a path elsewhere does not reach it, and neither does one beside its name.
    #[test]
    fn a_path_is_followed_to_a_served_mount_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mount = root.join("mnt");
        std::fs::create_dir_all(root.join("home/ann")).unwrap();
        let served = [Served {
            point: mount.clone(),
            fstype: "fuse.test".into(),
            uid: Some(1001),
        }];
        std::os::unix::fs::symlink(mount.join("facegate"), root.join("home/ann/store")).unwrap();
        std::os::unix::fs::symlink("../../mnt", root.join("home/ann/rel")).unwrap();
        for reached in [
            root.join("home/ann/store/users"),
            root.join("home/ann/rel/x.png"),
            root.join("home/ann/../../mnt/x.png"),
            mount.clone(),
            // A folder the mount is in: reading it all reads the mount.
            root.to_owned(),
        ] {
            assert_eq!(reaches(&reached, &served), Some(&served[0]), "{reached:?}");
        }
        for apart in [root.join("home/ann/photos/x.png"), root.join("mntx/a.png")] {
            assert_eq!(reaches(&apart, &served), None, "{apart:?}");
        }
    }
}
